/**
 * Scenario files for `npm run simulate -- --scenario FILE.json`: the traffic
 * a team expects (rates over time, incidents, bursts, tails, segments) and
 * the canary policy to try on it. docs/scenarios.md describes the format;
 * this schema is the reference, and its messages are what a user sees.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { CanaryPolicy } from "../../src/config/spec";

/** `[minute, value]` points: linear between points, a repeated minute is a step, the last value holds. */
const Point = z.tuple([z.number().min(0), z.number()]);
function series(min: number, max: number, what: string) {
	return z
		.union([z.number(), z.array(Point).min(1)])
		.transform((value) => (typeof value === "number" ? [[0, value] as [number, number]] : value))
		.refine((points) => points.every(([, v]) => v >= min && v <= max), {
			message: `${what} values must lie in [${min}, ${max}]`,
		})
		.refine((points) => points.every(([m], i) => i === 0 || m >= (points[i - 1]?.[0] ?? 0)), {
			message: "points must be in minute order (repeat a minute for a step)",
		});
}
export type Series = [number, number][];

const LogNormal = z.strictObject({
	/** Median latency, ms. */
	median: z.number().positive(),
	/** Log-scale standard deviation. */
	sigma: z.number().min(0).max(5),
});
const Latency = z.union([
	LogNormal,
	z.strictObject({
		mixture: z.array(z.strictObject({ weight: z.number().positive(), ...LogNormal.shape })).min(1),
	}),
]);
export type Latency = z.infer<typeof Latency>;

const ArmShape = {
	/** Share of requests that fail (5xx), over time. */
	errorRate: series(0, 1, "errorRate"),
	/** Latency distribution: log-normal {median, sigma} or a mixture of them. */
	latency: Latency,
	/** Multiplies this arm's latencies over time. */
	latencyScale: series(0.01, 100, "latencyScale").optional(),
};
const Arm = z.strictObject(ArmShape);
const ArmOverride = z.strictObject({
	errorRate: ArmShape.errorRate.optional(),
	latency: Latency.optional(),
	latencyScale: ArmShape.latencyScale,
});
export type Arm = z.infer<typeof Arm>;
export type ArmOverride = z.infer<typeof ArmOverride>;

export const ScenarioFile = z
	.strictObject({
		name: z.string().min(1).max(200),
		description: z.string().max(2000).optional(),
		/** Length of a simulated rollout; undecided rollouts count as running. */
		minutes: z.number().int().min(1).max(100_000),
		/** Requests per minute, both arms. */
		requestsPerMinute: series(0, 1e7, "requestsPerMinute"),
		champion: Arm,
		/** Fields left out are the champion's. */
		candidate: ArmOverride.prefault({}),
		/** Multiplies both arms' latencies over time (an incident in a shared dependency). */
		latencyScale: series(0.01, 100, "latencyScale").default([[0, 1]]),
		noise: z
			.strictObject({
				/** Coefficient of variation of each arm's per-minute error rate (gamma), independent per arm. */
				errorRateCv: z.number().min(0).max(5).default(0),
				/** Errors arrive in clusters of this mean size (geometric sizes); 1: independent. */
				errorClusterSize: z.number().min(1).max(1000).default(1),
			})
			.prefault({}),
		/** Slices of traffic (in both arms) with their own behaviour. */
		segments: z
			.array(
				z.strictObject({
					name: z.string().optional(),
					/** Share of each arm's requests. */
					share: z.number().gt(0).lt(1),
					/** Overrides of the champion's behaviour in the slice. */
					champion: ArmOverride.optional(),
					/** Overrides of the candidate's behaviour in the slice. */
					candidate: ArmOverride.optional(),
				}),
			)
			.default([])
			.refine((s) => s.reduce((sum, x) => sum + x.share, 0) < 1, {
				message: "segment shares must add up to less than 1",
			}),
		/** Any canary policy field of the deployment spec (defaults as in the spec). */
		policy: CanaryPolicy.prefault({}),
		/** Per-call timeout (ms): slower responses are timeouts, errors at the timeout's latency. */
		timeoutMs: z.number().int().min(1).max(60_000).default(3000),
		/** What a good policy should do with this candidate. */
		expect: z.enum(["healthy", "harmful"]),
	})
	.refine((s) => s.policy.steps[0] !== undefined && s.policy.steps[0] < 100, {
		message: "the first step must be below 100 % (a canary needs a champion to compare with)",
		path: ["policy", "steps"],
	});
export type ScenarioFile = z.infer<typeof ScenarioFile>;
export type ScenarioInput = z.input<typeof ScenarioFile>;

export class ScenarioError extends Error {}

/** Parses a scenario, with every problem and its path in the error message. */
export function parseScenario(input: unknown, source = "scenario"): ScenarioFile {
	const result = ScenarioFile.safeParse(input);
	if (result.success) return result.data;
	const lines = result.error.issues.map(
		(issue) => `  ${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`,
	);
	throw new ScenarioError(`${source} is not a valid scenario:\n${lines.join("\n")}`);
}

/** Reads and validates a scenario file. */
export function loadScenario(path: string): ScenarioFile {
	let text: string;
	try {
		text = readFileSync(path, "utf8");
	} catch (error) {
		throw new ScenarioError(`cannot read ${path}: ${(error as Error).message}`);
	}
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (error) {
		throw new ScenarioError(`${path} is not JSON: ${(error as Error).message}`);
	}
	return parseScenario(json, path);
}

/** The value of a series at minute t (see {@link Point}). */
export function valueAt(points: Series, t: number): number {
	let i = -1;
	for (let k = 0; k < points.length; k++) {
		if ((points[k] as [number, number])[0] <= t) i = k;
		else break;
	}
	if (i < 0) return (points[0] as [number, number])[1];
	const [m0, v0] = points[i] as [number, number];
	const next = points[i + 1];
	if (!next) return v0;
	const [m1, v1] = next;
	return m1 > m0 ? v0 + ((v1 - v0) * (t - m0)) / (m1 - m0) : v1;
}
