/**
 * The analysis report of a deployment: what the controller decides on and
 * what the admin API shows. Pure: takes the spec, the state and the stored
 * per-minute rows, returns plain data (JSON-safe: no Infinity, no NaN).
 *
 * Every comparison is made within time: the rows are paired by minute and
 * routing threshold (signals/strata.ts) and the tests combine the per-minute
 * comparisons over the whole rollout, so changes that hit both arms in the
 * same minutes (incidents, the time of day) never count against the
 * candidate. One module per strategy (canary.ts, ab.ts, shadow.ts); the
 * metrics and their tests come from the signal registry (signals/).
 */
import type { DeploymentSpec } from "../../config/spec";
import type { RolloutState } from "../../config/state";
import type { FeedbackMinute, MinuteRow } from "../../metrics/aggregate";
import { analysisMode } from "../state-machine";
import { type AbReport, abReport } from "./ab";
import { type CanaryReport, canaryReport } from "./canary";
import { type AnalysisMemory, lookMemory } from "./memory";
import { type ShadowReport, shadowReport } from "./shadow";

export type { AbMetric, GuardrailResult, MetricComparison } from "../../signals/types";
export type { AbReport, AbVerdict } from "./ab";
export { type CanaryReport, CEILING_MIN_REQUESTS, type StepWindow } from "./canary";
export { type AnalysisMemory, EMPTY_MEMORY } from "./memory";
export type { ShadowReport } from "./shadow";

/**
 * What the analysis reads: every stored row of the current rollout epoch from
 * the rollout's start on (QA-pinned rows, threshold < 0, already left out),
 * and the feedback per request minute of the same epoch.
 */
export interface AnalysisWindows {
	minutes: MinuteRow[];
	feedback: FeedbackMinute[];
}

export type AnalysisReport = CanaryReport | AbReport | ShadowReport;

export interface Analysis {
	report: AnalysisReport;
	memory: AnalysisMemory;
}

export function analyze(
	spec: DeploymentSpec,
	state: RolloutState,
	windows: AnalysisWindows,
	memory: AnalysisMemory,
	now: number,
): Analysis {
	const look = lookMemory(memory, state.startedAt ?? null);
	const input = {
		spec,
		state,
		rows: windows.minutes.filter((r) => r.threshold >= 0),
		feedback: windows.feedback,
		now,
		memory: look,
	};
	const mode = analysisMode(spec, state);
	const report =
		mode === "shadow" ? shadowReport(input) : mode === "ab" ? abReport(input) : canaryReport(input);
	return { report, memory: look.next() };
}
