/**
 * The LLM guardrails and A/B metrics: time to first token (a quantile, like
 * latency), cost per request (a mean), tokens; and broken streams counted as
 * errors. Deterministic aggregates: TTFT histograms shaped like a log-normal
 * with a given median, costs and tokens as exact moments.
 */
import { describe, expect, it } from "vitest";
import { expectedAggregate } from "../../scripts/sim/traffic";
import { DeploymentSpec, type DeploymentSpecInput } from "../../src/config/spec";
import type { RolloutState } from "../../src/config/state";
import { errorsOf, type VariantAggregate } from "../../src/metrics/aggregate";
import {
	type AbReport,
	analyze,
	type CanaryReport,
	EMPTY_MEMORY,
} from "../../src/rollout/analysis";
import { decide } from "../../src/rollout/controller";
import { aggregate, minuteRows, WINDOW_MINUTE } from "../helpers/aggregates";

const NOW = (WINDOW_MINUTE + 1) * 60_000;

function spec(more: Partial<DeploymentSpecInput>): DeploymentSpec {
	return DeploymentSpec.parse({
		name: "chat",
		strategy: "canary",
		champion: { version: "v1", service: "A" },
		candidate: { version: "v2", service: "B" },
		...more,
		canary: { minRequests: 100, bakeSeconds: 0, steps: [50, 100], ...more.canary },
	});
}

const state: RolloutState = {
	status: "running",
	weight: 50,
	step: 0,
	since: new Date(NOW - 30 * 60_000).toISOString(),
	startedAt: new Date(NOW - 30 * 60_000).toISOString(),
	reason: "",
	updatedBy: "controller",
	revision: 3,
};

/** An arm of `requests` streamed answers: latency median 40 ms, TTFT median `ttft` ms, cost per request `cost`. */
function arm(requests: number, ttft: number, cost: number, tokens = 100): VariantAggregate {
	const timed = expectedAggregate(requests, 0, { median: ttft, sigma: 0.4 });
	const a = aggregate(requests, 0, 40);
	a.answers = {
		ttft: { moments: timed.latency, histogram: timed.histogram },
		// Costs vary a little around their mean, tokens too (a variance, so the tests can run).
		cost: { moments: { n: requests, mean: cost, m2: requests * (cost * 0.2) ** 2 }, histogram: {} },
		completionTokens: {
			moments: { n: requests, mean: tokens, m2: requests * 20 ** 2 },
			histogram: {},
		},
	};
	return a;
}

/** `minutes` minutes of the same traffic at 50 %. */
function traffic(minutes: number, champion: VariantAggregate, candidate: VariantAggregate) {
	const rows = Array.from({ length: minutes }, (_, i) =>
		minuteRows(WINDOW_MINUTE - i, 5000, champion, candidate),
	).flat();
	return { minutes: rows, feedback: [] };
}

function look(s: DeploymentSpec, w: ReturnType<typeof traffic>) {
	const { report } = analyze(s, state, w, EMPTY_MEMORY, NOW);
	return { report, decision: decide(s, state, report, NOW) };
}

describe("the TTFT guardrail", () => {
	const withTtft = spec({ canary: { ttft: {} } });

	it("aborts a candidate whose first token comes twice as late", () => {
		const { report, decision } = look(
			withTtft,
			traffic(20, arm(300, 200, 0.001), arm(300, 400, 0.001)),
		);
		const ttft = (report as CanaryReport).guardrails.find((g) => g.name === "ttft_p95");
		expect(ttft).toMatchObject({ status: "fail" });
		expect(ttft?.candidate).toBeGreaterThan(1.8 * (ttft?.champion ?? 0));
		expect(decision).toMatchObject({
			kind: "abort",
			reason: expect.stringMatching(/ttft_p95 failed/),
		});
	});

	it("passes a candidate as fast as the champion, and takes its share of alpha only when on", () => {
		const { report, decision } = look(
			withTtft,
			traffic(20, arm(300, 200, 0.001), arm(300, 200, 0.001)),
		);
		const guardrails = (report as CanaryReport).guardrails;
		expect(guardrails.find((g) => g.name === "ttft_p95")?.status).toBe("pass");
		expect(decision.kind).toBe("promote");
		// error rate, p95 latency, TTFT: alpha in three.
		expect(guardrails.every((g) => Math.abs(g.alpha - 0.05 / 3) < 1e-12)).toBe(true);
		const without = look(spec({}), traffic(20, arm(300, 200, 0.001), arm(300, 400, 0.001)));
		expect((without.report as CanaryReport).guardrails.map((g) => g.name)).toEqual([
			"error_rate",
			"latency_p95",
		]);
	});
});

describe("the cost guardrail", () => {
	const withCost = spec({ canary: { maxCostIncreasePct: 20 } });

	it("aborts a candidate 50 % dearer per request than allowed +20 %", () => {
		const { report, decision } = look(
			withCost,
			traffic(20, arm(300, 200, 0.001), arm(300, 200, 0.0015)),
		);
		expect((report as CanaryReport).guardrails.find((g) => g.name === "cost")).toMatchObject({
			status: "fail",
			margin: expect.closeTo(0.0002, 10),
		});
		expect(decision.kind).toBe("abort");
	});

	it("passes one 10 % dearer, and says what it lacks without prices", () => {
		const dearer = look(withCost, traffic(20, arm(300, 200, 0.001), arm(300, 200, 0.0011)));
		expect((dearer.report as CanaryReport).guardrails.find((g) => g.name === "cost")?.status).toBe(
			"pass",
		);
		const unpriced = arm(300, 200, 0.001);
		unpriced.answers.cost = undefined;
		const unknown = look(withCost, traffic(20, unpriced, unpriced));
		expect(
			(unknown.report as CanaryReport).guardrails.find((g) => g.name === "cost"),
		).toMatchObject({
			status: "insufficient",
			detail: expect.stringMatching(/price/),
		});
	});
});

describe("broken streams", () => {
	it("are errors of their variant: the error-rate guardrail sees them", () => {
		const broken = arm(300, 200, 0.001);
		broken.streamErrors = 30;
		expect(errorsOf(broken)).toBe(30);
		const { decision } = look(spec({}), traffic(20, arm(300, 200, 0.001), broken));
		expect(decision).toMatchObject({
			kind: "abort",
			reason: expect.stringMatching(/error_rate failed/),
		});
	});
});

describe("A/B metrics on LLM answers", () => {
	const ab = (metric: "ttft" | "cost" | "tokens", better?: "higher" | "lower") =>
		spec({
			strategy: "ab",
			ab: { metric, weight: 50, minSamples: 100, ...(better ? { better } : {}) },
		});

	it.each([
		["ttft", arm(300, 200, 0.001), arm(300, 120, 0.001), "candidate_better"],
		["cost", arm(300, 200, 0.002), arm(300, 200, 0.001), "candidate_better"],
		["cost", arm(300, 200, 0.001), arm(300, 200, 0.002), "candidate_worse"],
	] as const)("decides on %s", (metric, champion, candidate, verdict) => {
		const { report } = look(ab(metric), traffic(20, champion, candidate));
		const r = report as AbReport;
		expect(r.primary).toBe(metric);
		expect(r.verdict).toBe(verdict);
		expect(r.metrics.map((m) => m.metric)).toEqual(
			expect.arrayContaining(["error_rate", "latency", "feedback", "ttft", "cost", "tokens"]),
		);
	});

	it("reads `better` for tokens: more is better by default, fewer when asked", () => {
		const champion = arm(300, 200, 0.001, 100);
		const candidate = arm(300, 200, 0.001, 140);
		expect((look(ab("tokens"), traffic(20, champion, candidate)).report as AbReport).verdict).toBe(
			"candidate_better",
		);
		expect(
			(look(ab("tokens", "lower"), traffic(20, champion, candidate)).report as AbReport).verdict,
		).toBe("candidate_worse");
	});

	it("leaves the LLM metrics out of an A/B test that measured none", () => {
		const plain = aggregate(300, 0, 40);
		const { report } = look(spec({ strategy: "ab" }), traffic(20, plain, plain));
		expect((report as AbReport).metrics.map((m) => m.metric)).toEqual([
			"error_rate",
			"latency",
			"feedback",
		]);
	});
});
