import { describe, expect, it } from "vitest";
import { createRandom } from "../../scripts/lib/random";
import { bucketProbabilities, expectedAggregate, minuteOf } from "../../scripts/sim/traffic";
import { DeploymentSpec, type DeploymentSpecInput } from "../../src/config/spec";
import type { RolloutState } from "../../src/config/state";
import { mergeAggregates } from "../../src/metrics/aggregate";
import {
	type AnalysisMemory,
	type AnalysisWindows,
	analyze,
	EMPTY_MEMORY,
} from "../../src/rollout/analysis";
import { decide, srmCause } from "../../src/rollout/controller";
import { MAX_MINUTE_STRATA, strataOf } from "../../src/signals/strata";
import { aggregate, feedbackAt, minuteRows, WINDOW_MINUTE, windows } from "../helpers/aggregates";

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

function canary(
	overrides: DeploymentSpecInput["canary"] = {},
	more: Partial<DeploymentSpecInput> = {},
) {
	return DeploymentSpec.parse({
		name: "c",
		strategy: "canary",
		champion: { version: "v1", service: "A" },
		candidate: { version: "v2", service: "B" },
		canary: { minRequests: 500, bakeSeconds: 300, ...overrides },
		...more,
	});
}

function running(
	weight: number,
	step: number,
	sinceMinutes = 10,
	extra: Partial<RolloutState> = {},
): RolloutState {
	return {
		status: "running",
		weight,
		step,
		since: minutesAgo(sinceMinutes),
		startedAt: minutesAgo(60),
		reason: "",
		updatedBy: "controller",
		revision: 7,
		...extra,
	};
}

function decideWith(spec: DeploymentSpec, state: RolloutState, w: AnalysisWindows) {
	const { report } = analyze(spec, state, w, EMPTY_MEMORY, NOW);
	return { decision: decide(spec, state, report, NOW), report };
}

/** A split at `weight` % of `total` requests with the given error rates (SRM-clean). */
function split(
	weight: number,
	total: number,
	championErrors: number,
	candidateErrors: number,
	candidateMedian = 80,
) {
	const nb = Math.round((total * weight) / 100);
	return windows(
		Math.round(weight * 100),
		aggregate(total - nb, Math.round((total - nb) * championErrors)),
		aggregate(nb, Math.round(nb * candidateErrors), candidateMedian),
	);
}

describe("canary decisions", () => {
	const spec = canary();

	it("holds while a variant has fewer than minRequests in the step, saying how many are missing", () => {
		const { decision } = decideWith(spec, running(5, 1), split(5, 4000, 0.005, 0.005));
		expect(decision.kind).toBe("hold");
		expect(decision.code).toBe("waiting_for_data");
		expect(decision.reason).toMatch(/waiting for 300 more candidate requests \(200 of 500\)/);
		expect(decision.next).toBeUndefined();
	});

	it("counts no client fault toward minRequests or the sample ratio: junk cannot fill a step or skew the split", () => {
		// 200 valid candidate requests at 5 %, padded with 2,000 a client broke (bad input, gone).
		const junk = (requests: number, faults: number) =>
			aggregate(requests + faults, 0, 80, { requests: requests + faults, clientFaults: faults });
		const padded = windows(500, aggregate(3800, 19), junk(200, 2000));
		const { decision, report } = decideWith(spec, running(5, 1), padded);
		expect(decision).toMatchObject({ kind: "hold", code: "waiting_for_data" });
		expect(decision.reason).toMatch(/300 more candidate requests \(200 of 500\)/);
		expect(report.strategy === "canary" && report.srm.mismatch).toBe(false);
		// Counted as requests, the same padding is a glaring mismatch.
		const counted = windows(500, aggregate(3800, 19), aggregate(2200, 0));
		const plain = decideWith(spec, running(5, 1), counted).report;
		expect(plain.strategy === "canary" && plain.srm.mismatch).toBe(true);
	});

	it("does not abort on a handful of errors before minRequests: two errors prove nothing yet", () => {
		const { decision } = decideWith(spec, running(5, 1), split(5, 300, 0.0, 0.1));
		expect(decision).toMatchObject({ kind: "hold", code: "waiting_for_data" });
	});

	it("aborts before minRequests as soon as an always-valid test proves harm", () => {
		// 200 candidate requests at 5 % (of 500 needed to step up), 10 % of them failing.
		const { decision } = decideWith(spec, running(5, 1, 3), split(5, 4000, 0.005, 0.1));
		expect(decision).toMatchObject({ kind: "abort", code: "guardrail" });
		expect(decision.reason).toMatch(/error_rate failed/);
	});

	it("holds until the bake time has passed", () => {
		const { decision } = decideWith(spec, running(5, 1, 2), split(5, 20_000, 0.005, 0.005));
		expect(decision).toMatchObject({ kind: "hold", code: "baking" });
		expect(decision.reason).toMatch(/120 of 300 s/);
	});

	it("steps up to the next weight when the bake time passed and every guardrail passes", () => {
		const { decision } = decideWith(spec, running(5, 1), split(5, 20_000, 0.005, 0.005));
		expect(decision.kind).toBe("step_up");
		expect(decision.next).toMatchObject({
			status: "running",
			weight: 25,
			step: 2,
			revision: 8,
			updatedBy: "controller",
			since: new Date(NOW).toISOString(),
		});
		expect(decision.reason).toMatch(/5 % → 25 %/);
	});

	it("promotes when the step before 100 passes", () => {
		const { decision } = decideWith(spec, running(50, 3), split(50, 4000, 0.005, 0.005));
		expect(decision.kind).toBe("promote");
		expect(decision.next).toMatchObject({ status: "promoted", weight: 100 });
	});

	it("aborts on the error-rate guardrail with the metric, the numbers and the p-value in the reason", () => {
		const { decision } = decideWith(spec, running(25, 2, 3), split(25, 20_000, 0.005, 0.02));
		expect(decision.kind).toBe("abort");
		expect(decision.next).toMatchObject({ status: "aborted", weight: 0 });
		expect(decision.reason).toMatch(/error_rate failed/);
		expect(decision.reason).toMatch(/2\.00 % \(100\/5000\)/);
		expect(decision.reason).toMatch(/p = /);
	});

	it("aborts on the latency guardrail when the candidate's p95 is slower by more than the margin", () => {
		const { decision, report } = decideWith(
			spec,
			running(25, 2, 3),
			split(25, 20_000, 0.005, 0.005, 120),
		);
		expect(
			report.strategy === "canary" &&
				report.guardrails.find((g) => g.name === "latency_p95")?.status,
		).toBe("fail");
		expect(decision.kind).toBe("abort");
		expect(decision.reason).toMatch(/latency_p95 failed/);
	});

	it("lets a latency increase inside the margin pass", () => {
		const tolerant = canary({ maxLatencyIncreaseMs: 200 });
		const { decision } = decideWith(tolerant, running(25, 2), split(25, 20_000, 0.005, 0.005, 120));
		expect(decision.kind).toBe("step_up");
	});

	it("aborts on the feedback guardrail when configured and the candidate's feedback is worse", () => {
		const withFeedback = canary({ feedback: { better: "higher", margin: 0 } });
		const w = split(25, 20_000, 0.005, 0.005);
		w.feedback = feedbackAt(
			WINDOW_MINUTE,
			{ n: 4000, mean: 0.5, m2: 4000 * 0.25 },
			{ n: 1000, mean: 0.4, m2: 1000 * 0.24 },
		);
		const { decision } = decideWith(withFeedback, running(25, 2), w);
		expect(decision.kind).toBe("abort");
		expect(decision.reason).toMatch(/feedback failed/);
	});

	it("aborts at once above the hard error-rate ceiling, before minRequests", () => {
		const { decision } = decideWith(spec, running(5, 1, 1), split(5, 1000, 0.005, 0.5));
		expect(decision).toMatchObject({ kind: "abort", code: "ceiling" });
		expect(decision.reason).toMatch(/ceiling of 20\.00 %/);
	});

	it("holds with an alert on a sample ratio mismatch", () => {
		const w = windows(500, aggregate(18_000), aggregate(2_000));
		const { decision } = decideWith(spec, running(5, 1), w);
		expect(decision).toMatchObject({ kind: "hold", code: "srm" });
		expect(decision.reason).toMatch(/sample ratio mismatch/);
	});

	it("aborts on a sample ratio mismatch when the spec says so", () => {
		const w = windows(500, aggregate(18_000), aggregate(2_000));
		const { decision } = decideWith(canary({ onSrm: "abort" }), running(5, 1), w);
		expect(decision).toMatchObject({ kind: "abort", code: "srm" });
	});

	it("does nothing automatic while paused, aborted or promoted", () => {
		for (const status of ["paused", "aborted", "promoted"] as const) {
			const { decision } = decideWith(
				spec,
				running(5, 1, 10, { status }),
				split(5, 20_000, 0.005, 0.5),
			);
			expect(decision.kind).toBe("none");
			expect(decision.next).toBeUndefined();
		}
	});

	it("continues above a weight set by hand between steps", () => {
		const { decision } = decideWith(spec, running(30, 2), split(30, 20_000, 0.005, 0.005));
		expect(decision.next).toMatchObject({ weight: 50, step: 3 });
	});

	it("promotes a canary an operator put at 100 %", () => {
		const { decision } = decideWith(spec, running(100, 4), split(50, 4000, 0, 0));
		expect(decision.kind).toBe("promote");
	});

	it("holds at weight 0 instead of waiting forever for candidate data", () => {
		const { decision } = decideWith(spec, running(0, 0), split(50, 4000, 0, 0));
		expect(decision).toMatchObject({ kind: "hold", code: "zero_weight" });
	});

	it("splits alpha across the active guardrails", () => {
		const { report } = decideWith(
			canary({ feedback: { better: "higher", margin: 0 } }),
			running(5, 1),
			split(5, 20_000, 0.005, 0.005),
		);
		expect(report.strategy === "canary" && report.guardrails.map((g) => g.alpha)).toEqual([
			0.05 / 3,
			0.05 / 3,
			0.05 / 3,
		]);
	});
});

describe("within time", () => {
	const spec = canary();
	/** `minutes` minutes before WINDOW_MINUTE (inclusive) at one weight, with per-minute error rates. */
	function minutes(
		from: number,
		count: number,
		weight: number,
		rate: (minute: number) => number,
		candidateRate = rate,
		perMinute = 6000,
	) {
		return Array.from({ length: count }, (_, i) => {
			const minute = WINDOW_MINUTE - from + i;
			const nb = Math.round((perMinute * weight) / 100);
			return minuteRows(
				minute,
				Math.round(weight * 100),
				aggregate(perMinute - nb, Math.round((perMinute - nb) * rate(i))),
				aggregate(nb, Math.round(nb * candidateRate(i))),
			);
		}).flat();
	}

	it("does not blame the candidate for an incident that doubles both arms' errors after it stepped up", () => {
		// 10 minutes at 5 % with 0.5 % errors, then 10 at 50 % with 1 % errors in both arms.
		const w = {
			minutes: [...minutes(19, 10, 5, () => 0.005), ...minutes(9, 10, 50, () => 0.01)],
			feedback: [],
		};
		const { decision, report } = decideWith(spec, running(50, 3, 10), w);
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		const errors = report.guardrails.find((g) => g.name === "error_rate");
		// Pooled, the candidate's 0.95 % against the champion's 0.79 % would look worse;
		// over the same minutes the champion had 0.95 % too.
		expect(report.rollout.candidate.errorRate).toBeGreaterThan(
			report.rollout.champion.errorRate * 1.15,
		);
		expect(Math.abs((errors?.candidate ?? 1) - (errors?.champion ?? 0))).toBeLessThan(0.0005);
		expect(errors?.status).toBe("pass");
		expect(decision.kind).toBe("promote");
	});

	it("aborts a tail-only regression (p50 −4 %, p95 +30 %): no shift test can veto it", () => {
		const fast = expectedAggregate(20_000 * 0.92 * 0.25, 0, { median: 73, sigma: 0.45 });
		const tail = expectedAggregate(20_000 * 0.08 * 0.25, 0, { median: 250, sigma: 0.3 });
		const candidate = mergeAggregates(fast, tail);
		candidate.errors5xx = 25;
		const { decision, report } = decideWith(
			spec,
			running(25, 2, 3),
			windows(2500, aggregate(15_000, 75), candidate),
		);
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		expect(report.rollout.candidate.latency.p50).toBeLessThan(report.rollout.champion.latency.p50);
		expect(decision.kind).toBe("abort");
		expect(decision.reason).toMatch(/latency_p95 failed/);
	});

	it("counts timeouts as slow: a candidate timing out 10 % of the time fails the latency guardrail", () => {
		const candidate = aggregate(4500, 0);
		const timeouts = aggregate(500, 0, 3000, { timeouts: 500 });
		const { report } = decideWith(
			spec,
			running(25, 2, 3),
			windows(2500, aggregate(15_000, 75), mergeAggregates(candidate, timeouts)),
		);
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		expect(report.guardrails.find((g) => g.name === "latency_p95")?.status).toBe("fail");
	});

	it("uses one quantile estimator: the guardrail's p95 is the report's (and the export's) p95", () => {
		const { report } = decideWith(spec, running(25, 2), split(25, 20_000, 0.005, 0.005, 95));
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		const p95 = report.guardrails.find((g) => g.name === "latency_p95");
		expect(p95?.candidate).toBeCloseTo(report.rollout.candidate.latency.p95, 9);
		expect(p95?.champion).toBeCloseTo(report.rollout.champion.latency.p95, 9);
	});

	it("guards p99 too when asked, each quantile with its share of alpha", () => {
		const { report } = decideWith(
			canary({ latencyQuantiles: [0.95, 0.99] }),
			running(5, 1),
			split(5, 20_000, 0.005, 0.005),
		);
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		expect(report.guardrails.map((g) => [g.name, g.alpha])).toEqual([
			["error_rate", 0.05 / 3],
			["latency_p95", 0.05 / 3],
			["latency_p99", 0.05 / 3],
		]);
	});

	it("compares feedback only for request minutes whose feedback has matured", () => {
		const withFeedback = canary({ feedback: { better: "higher", margin: 0 } });
		const late = DeploymentSpec.parse({ ...withFeedback, feedbackDelaySeconds: 600 });
		const w = split(25, 20_000, 0.005, 0.005);
		w.feedback = feedbackAt(
			WINDOW_MINUTE,
			{ n: 4000, mean: 0.5, m2: 4000 * 0.25 },
			{ n: 1000, mean: 0.4, m2: 1000 * 0.24 },
		);
		const matured = decideWith(withFeedback, running(25, 2), w).report;
		const waiting = decideWith(late, running(25, 2), w).report;
		const status = (r: typeof matured) =>
			r.strategy === "canary" && r.guardrails.find((g) => g.name === "feedback")?.status;
		expect(status(matured)).toBe("fail");
		expect(status(waiting)).toBe("insufficient");
	});

	it("says a canary is underpowered, in the report and in the hold, when harm would take over a day to catch", () => {
		// 10 requests a minute for an hour (seeded draws): the 1 % step alone needs 500 candidate requests.
		const random = createRandom(5);
		const buckets = bucketProbabilities({ median: 80, sigma: 0.5 });
		const w = {
			minutes: Array.from({ length: 60 }, (_, i) => {
				const nb = random.binomial(10, 0.01);
				return minuteRows(
					WINDOW_MINUTE - 59 + i,
					100,
					minuteOf(random, 10 - nb, 0.005, buckets),
					minuteOf(random, nb, 0.005, buckets),
				);
			}).flat(),
			feedback: [],
		};
		const { decision, report } = decideWith(spec, running(1, 0, 60), w);
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		expect(report.power.requestsPerMinute).toBeCloseTo(10, 6);
		expect(report.power.underpowered).toBe(true);
		expect(report.power.minutesToDecision).toBeGreaterThan(24 * 60);
		expect(decision).toMatchObject({ kind: "hold", code: "waiting_for_data_underpowered" });
		expect(decision.reason).toMatch(/underpowered/);
	});

	it("expects a decision within the hour at the reference traffic", () => {
		const { report } = decideWith(spec, running(1, 0, 5), {
			minutes: minutes(4, 5, 1, () => 0.005),
			feedback: [],
		});
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		expect(report.power.underpowered).toBe(false);
		expect(report.power.minutesToDecision).toBeLessThan(60);
		expect(report.power.minutesToPromote).toBe(24);
	});

	it("compares a rollout longer than a day in blocks of minutes, keeping every request", () => {
		const rows = minutes(
			3 * 24 * 60 - 1,
			3 * 24 * 60,
			5,
			() => 0.005,
			() => 0.005,
			100,
		);
		const strata = strataOf(rows);
		expect(strata.length).toBeLessThanOrEqual(MAX_MINUTE_STRATA);
		expect(strata.length).toBeGreaterThan(MAX_MINUTE_STRATA / 2);
		const requests = strata.reduce((n, s) => n + s.champion.requests + s.candidate.requests, 0);
		expect(requests).toBe(3 * 24 * 60 * 100);
		expect(strataOf(rows.slice(0, 20))).toHaveLength(10);
	});

	it("discards a memory of an older shape: its p-values belong to other tests", () => {
		const state = running(25, 2);
		const old = { rollout: state.startedAt ?? null, pValues: { error_rate: 1e-9 } };
		const { report } = analyze(
			spec,
			state,
			split(25, 20_000, 0.005, 0.005),
			old as unknown as AnalysisMemory,
			NOW,
		);
		expect(report.strategy === "canary" && report.guardrails[0]?.status).toBe("pass");
	});

	it("keeps its memory small, and every number in its reports finite (JSON has no Infinity or NaN)", () => {
		const finite = (value: unknown, path = "report"): void => {
			if (typeof value === "number") {
				if (!Number.isFinite(value)) throw new Error(`${path} is ${value}`);
			} else if (Array.isArray(value)) {
				for (const [i, v] of value.entries()) finite(v, `${path}[${i}]`);
			} else if (value && typeof value === "object")
				for (const [k, v] of Object.entries(value)) finite(v, `${path}.${k}`);
		};
		const ab = DeploymentSpec.parse({ ...spec, strategy: "ab" });
		const shadow = DeploymentSpec.parse({ ...spec, strategy: "shadow" });
		const cases: [DeploymentSpec, RolloutState, AnalysisWindows][] = [
			[spec, running(25, 2), split(25, 20_000, 0.005, 0.02)],
			[spec, running(5, 1), { minutes: [], feedback: [] }],
			[spec, running(5, 1), windows(500, aggregate(9500, 0), aggregate(500, 500))],
			[spec, running(5, 1), windows(500, aggregate(9500, 9500), aggregate(500, 0))],
			[spec, running(5, 1), windows(500, aggregate(1, 0), aggregate(1, 1))],
			[ab, running(50, 0), windows(5000, aggregate(5000, 0), aggregate(5000, 300))],
			[ab, running(50, 0), windows(5000, aggregate(5000, 300), aggregate(5000, 0))],
			[ab, running(50, 0), { minutes: [], feedback: [] }],
			[
				shadow,
				{ ...running(0, 0), status: "shadowing" },
				windows(0, aggregate(100), aggregate(0), aggregate(100, 100)),
			],
		];
		for (const [s, state, w] of cases) {
			const { memory, report } = analyze(s, state, w, EMPTY_MEMORY, NOW);
			finite(report);
			finite(memory);
			expect(JSON.parse(JSON.stringify(memory))).toEqual(memory);
			expect(Object.keys(memory.pValues).length).toBeLessThanOrEqual(5);
		}
	});
});

describe("A/B verdicts", () => {
	const ab = (policy: DeploymentSpecInput["ab"] = {}) =>
		DeploymentSpec.parse({
			name: "ab",
			strategy: "ab",
			champion: { version: "v1", service: "A" },
			candidate: { version: "v2", service: "B" },
			ab: { metric: "feedback", minSamples: 1000, ...policy },
		});
	const w = (championMean: number, candidateMean: number, n = 5000) => {
		const base = windows(5000, aggregate(n), aggregate(n));
		base.feedback = feedbackAt(
			WINDOW_MINUTE,
			{ n, mean: championMean, m2: n * championMean * (1 - championMean) },
			{ n, mean: candidateMean, m2: n * candidateMean * (1 - candidateMean) },
		);
		return base;
	};

	it("says candidate_better with estimates, interval and both p-values", () => {
		const { report, decision } = decideWith(ab(), running(50, 0), w(0.1, 0.13));
		if (report.strategy !== "ab") throw new Error("expected an A/B report");
		expect(report.verdict).toBe("candidate_better");
		const feedback = report.metrics.find((m) => m.metric === "feedback");
		expect(feedback?.difference).toBeCloseTo(0.03, 10);
		expect(feedback?.ci[0]).toBeGreaterThan(0);
		expect(feedback?.pValue).toBeLessThan(feedback?.alwaysValidPValue ?? 0);
		expect(decision).toMatchObject({ kind: "hold", code: "candidate_better" });
	});

	it("says candidate_worse when lower feedback is worse", () => {
		const { report } = decideWith(ab(), running(50, 0), w(0.13, 0.1));
		expect(report.strategy === "ab" && report.verdict).toBe("candidate_worse");
	});

	it("says no_difference_yet with about how many more requests it needs", () => {
		const { report } = decideWith(ab(), running(50, 0), w(0.1, 0.102, 2000));
		if (report.strategy !== "ab") throw new Error("expected an A/B report");
		expect(report.verdict).toBe("no_difference_yet");
		expect(report.needsMore).toBeGreaterThan(100_000);
		expect(report.summary).toMatch(/needs about \d+ more requests per variant/);
	});

	it("concludes automatically on a significant verdict after minSamples, routing everyone to the winner", () => {
		const { decision } = decideWith(ab({ autoConclude: true }), running(50, 0), w(0.1, 0.13));
		expect(decision.kind).toBe("conclude");
		expect(decision.next).toMatchObject({ status: "concluded", weight: 100, winner: "candidate" });
		const worse = decideWith(ab({ autoConclude: true }), running(50, 0), w(0.13, 0.1)).decision;
		expect(worse.next).toMatchObject({ status: "concluded", weight: 0, winner: "champion" });
	});

	it("does not conclude before minSamples", () => {
		const { decision } = decideWith(
			ab({ autoConclude: true, minSamples: 10_000 }),
			running(50, 0),
			w(0.1, 0.13),
		);
		expect(decision).toMatchObject({ kind: "hold", code: "waiting_for_data" });
		// Requests a client broke fill no sample: 5,000 valid and 6,000 junk are still 5,000.
		const padded = w(0.1, 0.13);
		const junk = { requests: 11_000, clientFaults: 6000 };
		padded.minutes = padded.minutes.map((r) => ({ ...r, aggregate: { ...r.aggregate, ...junk } }));
		const held = decideWith(ab({ autoConclude: true, minSamples: 10_000 }), running(50, 0), padded);
		expect(held.decision).toMatchObject({ kind: "hold", code: "waiting_for_data" });
		expect(held.decision.reason).toMatch(/5000 more requests per variant/);
	});

	it("compares within time: a weight raised while feedback improves for both arms does not favour the candidate", () => {
		// 30 minutes at 10 % with feedback 0.10, then 30 at 50 % with feedback 0.20, in both arms.
		const minutes = Array.from({ length: 60 }, (_, i) => WINDOW_MINUTE - 59 + i);
		const weight = (i: number) => (i < 30 ? 10 : 50);
		const mean = (i: number) => (i < 30 ? 0.1 : 0.2);
		const bernoulli = (n: number, p: number) => ({ n, mean: p, m2: n * p * (1 - p) });
		const w = {
			minutes: minutes.flatMap((minute, i) =>
				minuteRows(
					minute,
					weight(i) * 100,
					aggregate(1000 - weight(i) * 10),
					aggregate(weight(i) * 10),
				),
			),
			feedback: minutes.flatMap((minute, i) =>
				feedbackAt(
					minute,
					bernoulli(1000 - weight(i) * 10, mean(i)),
					bernoulli(weight(i) * 10, mean(i)),
				),
			),
		};
		const { report } = decideWith(ab(), running(50, 0, 30), w);
		if (report.strategy !== "ab") throw new Error("expected an A/B report");
		// Pooled, the candidate's 0.183 against the champion's 0.136 would be a clear win.
		expect(report.candidate.feedback.mean - report.champion.feedback.mean).toBeGreaterThan(0.04);
		const feedback = report.metrics.find((m) => m.metric === "feedback");
		expect(feedback?.difference).toBeCloseTo(0, 10);
		expect(report.verdict).toBe("no_difference_yet");
	});

	it("decides on error rate (lower is better) when that is the metric", () => {
		const base = windows(5000, aggregate(5000, 100), aggregate(5000, 40));
		const { report } = decideWith(ab({ metric: "error_rate" }), running(50, 0), base);
		expect(report.strategy === "ab" && report.verdict).toBe("candidate_better");
	});
});

describe("shadow verdicts", () => {
	const shadow = (policy: DeploymentSpecInput["shadow"] = {}) =>
		DeploymentSpec.parse({
			name: "s",
			strategy: "shadow",
			champion: { version: "v1", service: "A" },
			candidate: { version: "v2", service: "B" },
			shadow: { promoteTo: "canary", minComparisons: 1000, minAgreement: 0.9, ...policy },
		});
	const shadowing: RolloutState = { ...running(0, 0), status: "shadowing" };
	const w = (compared: number, agreed: number, shadowErrors = 0) =>
		windows(
			0,
			aggregate(compared),
			aggregate(0),
			aggregate(compared, shadowErrors, 80, { compared, agreed }),
		);

	it("reports agreement with a Wilson interval", () => {
		const { report } = decideWith(shadow(), shadowing, w(2000, 1900));
		if (report.strategy !== "shadow") throw new Error("expected a shadow report");
		expect(report.comparisons.agreement).toBeCloseTo(0.95, 10);
		expect(report.comparisons.ci[0]).toBeLessThan(0.95);
		expect(report.comparisons.ci[1]).toBeGreaterThan(0.95);
	});

	it("moves to the canary's first step when agreement is high enough over enough comparisons", () => {
		const { decision } = decideWith(shadow(), shadowing, w(2000, 1960));
		expect(decision.kind).toBe("start_canary");
		expect(decision.next).toMatchObject({
			status: "running",
			weight: 1,
			step: 0,
			startedAt: new Date(NOW).toISOString(),
		});
	});

	it("keeps shadowing below the agreement threshold, with too few comparisons, or when promotion is off", () => {
		expect(decideWith(shadow(), shadowing, w(2000, 1700)).decision.reason).toMatch(/below 90\.0 %/);
		expect(decideWith(shadow(), shadowing, w(500, 500)).decision.reason).toMatch(
			/waiting for 500 more comparisons/,
		);
		expect(
			decideWith(shadow({ promoteTo: undefined }), shadowing, w(2000, 2000)).decision.reason,
		).toMatch(/automatic promotion is off/);
	});

	it("keeps shadowing when the candidate fails a guardrail", () => {
		const { decision } = decideWith(shadow(), shadowing, w(20_000, 20_000, 2_000));
		expect(decision.kind).toBe("hold");
		expect(decision.reason).toMatch(/guardrail failing: error_rate/);
	});
});

describe("small counts", () => {
	it("does not abort on a single candidate error against none for the champion", () => {
		const spec = canary({ minRequests: 100, bakeSeconds: 0 });
		const w = windows(500, aggregate(10_874, 0), aggregate(546, 1));
		const { decision, report } = decideWith(spec, running(5, 1), w);
		expect(report.strategy === "canary" && report.guardrails[0]?.status).toBe("pass");
		expect(decision.kind).toBe("step_up");
	});
});

describe("the cause a sample ratio mismatch names", () => {
	const arm = (requests: number, clientFaults: number) => ({ requests, clientFaults });
	it("names a candidate refusing requests when its 4xx share stands out", () => {
		expect(srmCause({ champion: arm(1000, 10), candidate: arm(1000, 400) })).toMatch(
			/candidate answered 40\.0 % of its requests with a client error \(4xx\), the champion 1\.0 %/,
		);
	});

	it("blames assignment or logging when both arms' 4xx shares are alike, or small", () => {
		expect(srmCause({ champion: arm(1000, 100), candidate: arm(1000, 150) })).toBe(
			"assignment or logging is broken",
		);
		expect(srmCause({ champion: arm(1000, 0), candidate: arm(1000, 40) })).toBe(
			"assignment or logging is broken",
		);
		expect(srmCause({ champion: arm(0, 0), candidate: arm(0, 0) })).toBe(
			"assignment or logging is broken",
		);
	});
});
