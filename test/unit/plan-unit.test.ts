/**
 * The request path's plan, as a table: who is assigned, who is called
 * first, whether a failing candidate falls back, whether the candidate gets
 * a shadow copy, what the observations and the request id record — for QA
 * overrides, an open breaker, shadow sampling, preflights and HEADs,
 * fallback off, and every rollout status.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeploymentSpec, type DeploymentSpecInput, saltOf } from "../../src/config/spec";
import { KvRolloutState, type KvRolloutStateInput, RolloutStatus } from "../../src/config/state";
import { assignVariant, type Variant } from "../../src/routing/assign";
import { type PlanInput, planRequest, servedBy } from "../../src/routing/plan";
import { unitTag } from "../../src/routing/request-id";

const STARTED = "2026-11-02T10:00:00.000Z";
const TIME = 1_793_000_000_000;

function spec(extra: Partial<DeploymentSpecInput> = {}): DeploymentSpec {
	return DeploymentSpec.parse({
		name: "plan",
		strategy: "canary",
		champion: { version: "v1", service: "MODEL_V1" },
		candidate: { version: "v2", service: "MODEL_V2" },
		shadow: { sampleRate: 0.25 },
		...extra,
	});
}

function state(input: KvRolloutStateInput): KvRolloutState {
	return KvRolloutState.parse({ startedAt: STARTED, ...input });
}

/** The first unit id (unit-0, unit-1, …) the plan's salt assigns `variant` at `threshold`. */
function unitOn(variant: Variant, threshold: number): string {
	for (let i = 0; ; i++)
		if (assignVariant(saltOf(spec()), `unit-${i}`, threshold) === variant) return `unit-${i}`;
}

const ON_CANDIDATE = unitOn("candidate", 5000);
const ON_CHAMPION = unitOn("champion", 5000);

function input(extra: Partial<PlanInput> = {}): PlanInput {
	return {
		spec: spec(),
		state: state({ status: "running", weight: 50 }),
		unit: { id: ON_CANDIDATE, fresh: false },
		override: null,
		breakerOpen: false,
		method: "POST",
		draw: 0.5,
		time: TIME,
		...extra,
	};
}

const champion = { id: ON_CHAMPION, fresh: false };
const shadowing = state({ status: "shadowing" });

describe("the plan", () => {
	it.each<[string, Partial<PlanInput>, Record<string, unknown>]>([
		[
			"a unit on the candidate at 50 %: candidate first, may fall back, feeds the breaker",
			{},
			{ assigned: "candidate", first: "candidate", mayFallBack: true, feedsBreaker: true },
		],
		[
			"a unit on the champion at 50 %: champion, nothing to fall back from",
			{ unit: champion },
			{ assigned: "champion", first: "champion", mayFallBack: false, feedsBreaker: false },
		],
		[
			"fallback off: the candidate's failure is served as it is",
			{ spec: spec({ fallback: false }) },
			{ assigned: "candidate", mayFallBack: false, feedsBreaker: true },
		],
		[
			"an open breaker diverts the candidate's unit to the champion, before any call",
			{ breakerOpen: true },
			{ assigned: "candidate", first: "champion", diverted: true, mayFallBack: false },
		],
		[
			"an open breaker leaves the champion's units alone",
			{ breakerOpen: true, unit: champion },
			{ assigned: "champion", first: "champion", diverted: false },
		],
		[
			"a QA override pins the candidate: no fallback, no breaker, threshold -1",
			{ override: "candidate", unit: champion, breakerOpen: true },
			{
				assigned: "candidate",
				first: "candidate",
				diverted: false,
				mayFallBack: false,
				feedsBreaker: false,
				threshold: -1,
			},
		],
		[
			"a QA override pins the champion of a candidate's unit",
			{ override: "champion" },
			{ assigned: "champion", first: "champion", threshold: -1 },
		],
		[
			"a QA override serves the candidate of a pending deployment",
			{ override: "candidate", state: state({ status: "pending", weight: 0 }) },
			{ assigned: "candidate", threshold: -1 },
		],
		[
			"a preflight passes through as no prediction: it feeds nothing",
			{ method: "OPTIONS" },
			{ predicting: false, assigned: "candidate", mayFallBack: true, feedsBreaker: false },
		],
		[
			"a HEAD passes through as no prediction",
			{ method: "HEAD" },
			{ predicting: false, feedsBreaker: false },
		],
		[
			"shadowing: the champion answers, the candidate gets a copy when the draw is under the rate",
			{ state: shadowing, draw: 0.1 },
			{ assigned: "champion", first: "champion", shadow: true, threshold: 0 },
		],
		[
			"shadowing: no copy when the draw is at or over the sample rate",
			{ state: shadowing, draw: 0.25 },
			{ assigned: "champion", shadow: false },
		],
		[
			"shadowing: no copy of a preflight",
			{ state: shadowing, draw: 0, method: "OPTIONS" },
			{ shadow: false, predicting: false },
		],
		[
			"shadowing: no copy of a HEAD",
			{ state: shadowing, draw: 0, method: "HEAD" },
			{ shadow: false },
		],
		[
			"shadowing: no copy of a request pinned by QA",
			{ state: shadowing, draw: 0, override: "candidate" },
			{ assigned: "candidate", shadow: false, threshold: -1 },
		],
		[
			"pending: the champion alone, whatever the weight says",
			{ state: state({ status: "pending", weight: 50 }) },
			{ assigned: "champion", threshold: 0, mayFallBack: false },
		],
		[
			"aborted: the champion alone, whatever the weight says",
			{ state: state({ status: "aborted", weight: 50 }) },
			{ assigned: "champion", threshold: 0 },
		],
		[
			"promoted: the candidate for everyone, still with its fallback",
			{ state: state({ status: "promoted", weight: 0 }), unit: champion },
			{ assigned: "candidate", threshold: 10_000, mayFallBack: true },
		],
		[
			"paused at 50 %: the split holds",
			{ state: state({ status: "paused", weight: 50 }) },
			{ assigned: "candidate", threshold: 5000 },
		],
	])("%s", (_, extra, expected) => {
		const plan = planRequest(input(extra));
		const { threshold, ...fields } = expected;
		expect(plan).toMatchObject(fields);
		if (threshold !== undefined) expect(plan.segment.threshold).toBe(threshold);
	});

	it("records the rollout's epoch and the request id's claims", () => {
		const plan = planRequest(input({ override: "candidate", breakerOpen: true }));
		expect(plan.segment).toEqual({ threshold: -1, epoch: Date.parse(STARTED) });
		expect(plan.claims).toEqual({
			deployment: "plan",
			assigned: "candidate",
			fallback: false,
			diverted: false,
			pinned: true,
			failed: false,
			time: TIME,
			unit: unitTag(ON_CANDIDATE),
		});
		const diverted = planRequest(input({ breakerOpen: true })).claims;
		expect(diverted).toMatchObject({ assigned: "candidate", diverted: true, pinned: false });
	});

	it("records epoch 0 for a state that never started", () => {
		const plan = planRequest(input({ state: KvRolloutState.parse({ status: "pending" }) }));
		expect(plan.segment.epoch).toBe(0);
	});

	it("says who served: the assigned variant, or the champion after a diversion or a fallback", () => {
		expect(servedBy(planRequest(input()))).toBe("candidate");
		expect(servedBy(planRequest(input({ breakerOpen: true })))).toBe("champion");
		const fellBack = planRequest(input());
		fellBack.claims.fallback = true;
		expect(servedBy(fellBack)).toBe("champion");
	});

	it("keeps its promises for any input: pinned requests are never diverted, shadowed or fallen back", () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...RolloutStatus.options),
				fc.integer({ min: 0, max: 10_000 }).map((w) => w / 100),
				fc.string({ minLength: 1 }),
				fc.constantFrom<Variant | null>(null, "champion", "candidate"),
				fc.boolean(),
				fc.constantFrom("GET", "POST", "HEAD", "OPTIONS"),
				fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
				fc.boolean(),
				(status, weight, unit, override, breakerOpen, method, draw, fallback) => {
					const plan = planRequest(
						input({
							spec: spec({ fallback }),
							state: state({ status, weight }),
							unit: { id: unit, fresh: false },
							override,
							breakerOpen,
							method,
							draw,
						}),
					);
					if (override !== null) {
						expect(plan.assigned).toBe(override);
						expect([plan.diverted, plan.shadow, plan.mayFallBack]).toEqual([false, false, false]);
					}
					if (plan.mayFallBack || plan.diverted) expect(plan.assigned).toBe("candidate");
					if (plan.shadow) expect([plan.first, plan.predicting]).toEqual(["champion", true]);
					if (plan.feedsBreaker) expect(plan.first).toBe("candidate");
					expect(plan.first).toBe(plan.diverted ? "champion" : plan.assigned);
				},
			),
			{ seed: 20 },
		);
	});
});
