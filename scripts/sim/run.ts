/** Runs every scenario under every rule on the same seeds and summarises the outcomes. */
import { createRandom } from "../lib/random";
import { createRule, prepare, type RuleName, runRollout } from "./rollout";
import { REFERENCE, SCENARIOS, type Scenario, type SimulationConfig } from "./scenarios";
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
	scenarios?: Scenario[];
	rules?: RuleSpec[];
	onProgress?: (message: string) => void;
}

export function simulate(options: SimulationOptions): ScenarioResult[] {
	const config = options.config ?? REFERENCE;
	const results: ScenarioResult[] = [];
	for (const scenario of options.scenarios ?? SCENARIOS) {
		const prepared = prepare(config, scenario);
		const rules = (options.rules ?? DEFAULT_RULES).map((spec) => {
			const started = performance.now();
			const outcomes = Array.from({ length: options.rollouts }, (_, i) =>
				runRollout(
					config,
					scenario,
					prepared,
					createRule(spec.rule, prepared.spec, spec.flaggerChecks),
					createRandom(options.seed + i),
				),
			);
			const seconds = (performance.now() - started) / 1000;
			options.onProgress?.(`${scenario.name}: ${spec.label} (${seconds.toFixed(1)} s)`);
			return { rule: spec.label, seconds, ...summarizeOutcomes(outcomes) };
		});
		results.push({ scenario: scenario.name, harmful: scenario.harmful, rules });
	}
	return results;
}
