/** What every strategy's analysis reads: the spec, the state, the rollout's rows and this look's memory. */
import type { DeploymentSpec } from "../../config/spec";
import type { RolloutState } from "../../config/state";
import type { FeedbackMinute, MinuteRow } from "../../metrics/aggregate";
import type { TestMemory } from "../../signals/types";

export interface AnalysisInput {
	spec: DeploymentSpec;
	state: RolloutState;
	/** Every row of the current rollout epoch, QA-pinned rows (threshold < 0) left out. */
	rows: MinuteRow[];
	feedback: FeedbackMinute[];
	now: number;
	memory: TestMemory;
}
