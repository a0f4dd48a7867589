/**
 * The built-in comparison of `npm run simulate` (without --scenario): the
 * reference traffic (stationary, independent) with six candidates, each run
 * under the Switchyard controller and the naive and Flagger-like rules.
 */
import { parseScenario, type ScenarioFile } from "./scenario-file";

export interface SimulationConfig {
	requestsPerMinute: number;
	steps: number[];
	minRequests: number;
	bakeSeconds: number;
	alpha: number;
	/** Minutes after which an undecided rollout counts as still running. */
	maxMinutes: number;
	maxLatencyIncreasePct: number;
	maxErrorRateIncrease: number;
}

export const REFERENCE: SimulationConfig = {
	requestsPerMinute: 6000,
	steps: [1, 5, 25, 50, 100],
	minRequests: 500,
	bakeSeconds: 300,
	alpha: 0.05,
	maxMinutes: 120,
	maxLatencyIncreasePct: 10,
	maxErrorRateIncrease: 0,
};

const CHAMPION_ERROR_RATE = 0.005;

const CANDIDATES: { name: string; errors: number; latency: number; harmful: boolean }[] = [
	{ name: "healthy (A/A)", errors: 1, latency: 1, harmful: false },
	{ name: "1.2x errors", errors: 1.2, latency: 1, harmful: true },
	{ name: "2x errors", errors: 2, latency: 1, harmful: true },
	{ name: "5x errors", errors: 5, latency: 1, harmful: true },
	{ name: "+20% p95 latency", errors: 1, latency: 1.2, harmful: true },
	{ name: "small improvement", errors: 0.8, latency: 0.97, harmful: false },
];

/** The reference scenarios under a configuration (the CLI flags change it). */
export function referenceScenarios(config: SimulationConfig = REFERENCE): ScenarioFile[] {
	return CANDIDATES.map((c) =>
		parseScenario({
			name: c.name,
			minutes: config.maxMinutes,
			requestsPerMinute: config.requestsPerMinute,
			champion: {
				errorRate: CHAMPION_ERROR_RATE,
				latency: { median: 80, sigma: 0.5 },
			},
			candidate: {
				errorRate: CHAMPION_ERROR_RATE * c.errors,
				latencyScale: c.latency,
			},
			policy: {
				steps: config.steps,
				minRequests: config.minRequests,
				bakeSeconds: config.bakeSeconds,
				alpha: config.alpha,
				maxLatencyIncreasePct: config.maxLatencyIncreasePct,
				maxErrorRateIncrease: config.maxErrorRateIncrease,
			},
			expect: c.harmful ? "harmful" : "healthy",
		}),
	);
}

export const SCENARIOS: ScenarioFile[] = referenceScenarios();
