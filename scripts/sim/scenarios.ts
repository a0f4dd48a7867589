/** The simulated candidates and the reference scenario of `npm run simulate`. */
import type { LatencyModel } from "./traffic";

export interface Scenario {
	name: string;
	/** Champion error rate. */
	errorRate: number;
	/** Candidate error rate = errorRate × errorMultiplier. */
	errorMultiplier: number;
	latency: LatencyModel;
	/** Candidate latencies are the champion's × latencyMultiplier (so its p95 moves by the same factor). */
	latencyMultiplier: number;
	/** True when a good rule should stop this candidate. */
	harmful: boolean;
}

export interface SimulationConfig {
	requestsPerMinute: number;
	steps: number[];
	minRequests: number;
	bakeSeconds: number;
	alpha: number;
	/** Minutes after which an undecided rollout counts as still running. */
	maxMinutes: number;
	maxLatencyIncreaseMs: number;
	maxErrorRateIncrease: number;
}

export const REFERENCE: SimulationConfig = {
	requestsPerMinute: 6000,
	steps: [1, 5, 25, 50, 100],
	minRequests: 500,
	bakeSeconds: 300,
	alpha: 0.05,
	maxMinutes: 120,
	maxLatencyIncreaseMs: 25,
	maxErrorRateIncrease: 0,
};

const latency: LatencyModel = { median: 80, sigma: 0.5 };

export const SCENARIOS: Scenario[] = [
	{
		name: "healthy (A/A)",
		errorRate: 0.005,
		errorMultiplier: 1,
		latency,
		latencyMultiplier: 1,
		harmful: false,
	},
	{
		name: "1.2x errors",
		errorRate: 0.005,
		errorMultiplier: 1.2,
		latency,
		latencyMultiplier: 1,
		harmful: true,
	},
	{
		name: "2x errors",
		errorRate: 0.005,
		errorMultiplier: 2,
		latency,
		latencyMultiplier: 1,
		harmful: true,
	},
	{
		name: "5x errors",
		errorRate: 0.005,
		errorMultiplier: 5,
		latency,
		latencyMultiplier: 1,
		harmful: true,
	},
	{
		name: "+20% p95 latency",
		errorRate: 0.005,
		errorMultiplier: 1,
		latency,
		latencyMultiplier: 1.2,
		harmful: true,
	},
	{
		name: "small improvement",
		errorRate: 0.005,
		errorMultiplier: 0.8,
		latency,
		latencyMultiplier: 0.97,
		harmful: false,
	},
];
