/** Runs scenarios under rules on the same seeds and summarises the outcomes. */
import { createRandom } from "../lib/random";
import { createRule, prepareScenario, type RuleName, runRollout } from "./rollout";
import type { ScenarioFile } from "./scenario-file";
import { REFERENCE, referenceScenarios, type SimulationConfig } from "./scenarios";
import { type OutcomeSummary, summarizeOutcomes } from "./summary";

export interface RuleSpec {
	label: string;
	rule: RuleName;
	flaggerChecks?: number;
}

export const DEFAULT_RULES: RuleSpec[] = [
	{ label: "switchyard", rule: "switchyard" },
	{ label: "naive (fixed-horizon test every minute)", rule: "naive" },
	{ label: "flagger (<99 % success in a minute, 1 check)", rule: "flagger", flaggerChecks: 1 },
	{ label: "flagger (<99 % success in a minute, 5 checks)", rule: "flagger", flaggerChecks: 5 },
];

export interface ScenarioResult {
	scenario: string;
	harmful: boolean;
	rules: (OutcomeSummary & { rule: string; seconds: number })[];
}

export interface SimulationOptions {
	rollouts: number;
	seed: number;
	config?: SimulationConfig;
	scenarios?: ScenarioFile[];
	rules?: RuleSpec[];
	onProgress?: (message: string) => void;
}

/** Every scenario under every rule; rollout i of each uses seed + i. */
export function simulate(options: SimulationOptions): ScenarioResult[] {
	const scenarios = options.scenarios ?? referenceScenarios(options.config ?? REFERENCE);
	return scenarios.map((scenario) => {
		const prepared = prepareScenario(scenario);
		const rules = (options.rules ?? DEFAULT_RULES).map((spec) => {
			const started = performance.now();
			const outcomes = Array.from({ length: options.rollouts }, (_, i) =>
				runRollout(
					prepared,
					createRule(spec.rule, prepared.spec, spec.flaggerChecks),
					createRandom(options.seed + i),
				),
			);
			const seconds = (performance.now() - started) / 1000;
			options.onProgress?.(`${scenario.name}: ${spec.label} (${seconds.toFixed(1)} s)`);
			return { rule: spec.label, seconds, ...summarizeOutcomes(outcomes) };
		});
		return { scenario: scenario.name, harmful: scenario.expect === "harmful", rules };
	});
}

/** What `--scenario FILE --json` prints for one scenario. */
export interface ScenarioSummary {
	scenario: string;
	rollouts: number;
	aborted: number;
	promoted: number;
	running: number;
	medianMinutes: number | null;
	exposure: { aborted: number | null; promoted: number | null };
}

/** A scenario's rollouts under the Switchyard controller. */
export function runScenario(
	scenario: ScenarioFile,
	options: { rollouts: number; seed: number },
): ScenarioSummary & { seconds: number } {
	const [result] = simulate({
		rollouts: options.rollouts,
		seed: options.seed,
		scenarios: [scenario],
		rules: [{ label: "switchyard", rule: "switchyard" }],
	});
	const r = result?.rules[0];
	if (!r) throw new Error("no result");
	return {
		scenario: scenario.name,
		rollouts: r.rollouts,
		aborted: r.aborted,
		promoted: r.promoted,
		running: r.running,
		medianMinutes: r.medianMinutes,
		exposure: { aborted: r.medianExposure, promoted: r.medianExposurePromoted },
		seconds: r.seconds,
	};
}
