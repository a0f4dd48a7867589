import { describe, expect, it } from "vitest";
import { DeploymentSpec } from "../../src/config/spec";
import { PENDING, type RolloutState, routingOf } from "../../src/config/state";
import { nextStepAbove, stepIndexFor } from "../../src/rollout/steps";
import { type AdminAction, applyAction, finalizedSpec } from "../../src/rollout/transitions";

const NOW = Date.UTC(2026, 10, 28, 12);
const AT = new Date(NOW).toISOString();
const base = {
	name: "d",
	champion: { version: "v1", service: "A" },
	candidate: { version: "v2", service: "B" },
};
const canary = DeploymentSpec.parse({ ...base, strategy: "canary" });
const ab = DeploymentSpec.parse({ ...base, strategy: "ab", ab: { weight: 30 } });
const shadow = DeploymentSpec.parse({ ...base, strategy: "shadow" });

function state(
	status: RolloutState["status"],
	weight = 0,
	extra: Partial<RolloutState> = {},
): RolloutState {
	return {
		status,
		weight,
		step: 0,
		reason: "",
		updatedBy: "controller",
		revision: 4,
		since: "2026-11-28T11:00:00.000Z",
		startedAt: "2026-11-28T10:00:00.000Z",
		...extra,
	};
}

function apply(spec: DeploymentSpec, s: RolloutState, action: AdminAction) {
	return applyAction(spec, s, action, NOW, "admin");
}

describe("operator actions", () => {
	it("start begins each strategy where it should, with a fresh rollout clock", () => {
		expect(apply(canary, PENDING, { type: "start" })).toMatchObject({
			ok: true,
			next: {
				status: "running",
				weight: 1,
				step: 0,
				startedAt: AT,
				since: AT,
				updatedBy: "admin",
				revision: 1,
			},
		});
		expect(apply(ab, PENDING, { type: "start" })).toMatchObject({
			ok: true,
			next: { status: "running", weight: 30 },
		});
		expect(apply(shadow, PENDING, { type: "start" })).toMatchObject({
			ok: true,
			next: { status: "shadowing", weight: 0 },
		});
	});

	it("start restarts an aborted rollout but refuses a running one", () => {
		expect(apply(canary, state("aborted"), { type: "start" }).ok).toBe(true);
		expect(apply(canary, state("running", 5), { type: "start" })).toEqual({
			ok: false,
			error: "cannot start a rollout that is running",
		});
	});

	it("pause remembers what to resume to", () => {
		const paused = apply(shadow, state("shadowing"), { type: "pause" });
		expect(paused).toMatchObject({ ok: true, next: { status: "paused", pausedFrom: "shadowing" } });
		if (!paused.ok) throw new Error("expected ok");
		expect(apply(shadow, paused.next, { type: "resume" })).toMatchObject({
			ok: true,
			next: { status: "shadowing" },
		});
		const resumed = apply(canary, state("paused", 5, { pausedFrom: "running" }), {
			type: "resume",
		});
		expect(resumed).toMatchObject({ ok: true, next: { status: "running", weight: 5 } });
		if (resumed.ok) expect(resumed.next.pausedFrom).toBeUndefined();
	});

	it("refuses to resume an aborted rollout (the API's 409)", () => {
		expect(apply(canary, state("aborted"), { type: "resume" })).toEqual({
			ok: false,
			error: "cannot resume a rollout that is aborted",
		});
	});

	it("promote turns a shadow into a canary, and a canary into a promotion", () => {
		expect(apply(shadow, state("shadowing"), { type: "promote" })).toMatchObject({
			ok: true,
			next: { status: "running", weight: 1, startedAt: AT },
		});
		expect(apply(canary, state("running", 25), { type: "promote" })).toMatchObject({
			ok: true,
			next: { status: "promoted", weight: 100 },
		});
		expect(apply(canary, PENDING, { type: "promote" }).ok).toBe(false);
	});

	it("abort sends everything back to the champion, even after a promotion", () => {
		expect(apply(canary, state("running", 25), { type: "abort" })).toMatchObject({
			ok: true,
			next: { status: "aborted", weight: 0 },
		});
		expect(apply(canary, state("promoted", 100), { type: "abort" })).toMatchObject({
			ok: true,
			next: { status: "aborted", weight: 0 },
		});
		expect(apply(canary, state("aborted"), { type: "abort" }).ok).toBe(false);
	});

	it("weight sets the weight and the matching canary step", () => {
		expect(
			apply(canary, state("running", 5, { step: 1 }), { type: "weight", weight: 30 }),
		).toMatchObject({ ok: true, next: { weight: 30, step: 2 } });
		expect(apply(canary, state("pending"), { type: "weight", weight: 30 }).ok).toBe(false);
	});

	it("finalize needs a candidate that won", () => {
		expect(apply(canary, state("promoted", 100), { type: "finalize" })).toMatchObject({
			ok: true,
			next: { status: "concluded", weight: 0 },
		});
		expect(apply(ab, state("concluded", 0, { winner: "champion" }), { type: "finalize" }).ok).toBe(
			false,
		);
	});

	it("keeps the operator's reason", () => {
		const result = applyAction(
			canary,
			state("running", 5),
			{ type: "pause" },
			NOW,
			"admin",
			"incident 42",
		);
		expect(result.ok && result.next.reason).toBe("incident 42");
	});
});

describe("steps", () => {
	it("finds the current step and the next one", () => {
		const steps = [1, 5, 25, 50, 100];
		expect(stepIndexFor(steps, 0.5)).toBe(0);
		expect(stepIndexFor(steps, 30)).toBe(2);
		expect(nextStepAbove(steps, 30)).toEqual({ index: 3, weight: 50 });
		expect(nextStepAbove(steps, 100)).toBeNull();
	});
});

describe("actions without a valid spec", () => {
	it("abort, pause and resume work on the state alone", () => {
		const running = state("running", 25, { step: 2 });
		expect(applyAction(null, running, { type: "abort" }, NOW, "admin")).toMatchObject({
			ok: true,
			next: { status: "aborted", weight: 0, revision: 5 },
		});
		const paused = applyAction(null, running, { type: "pause" }, NOW, "admin");
		expect(paused).toMatchObject({ ok: true, next: { status: "paused", pausedFrom: "running" } });
		if (paused.ok)
			expect(applyAction(null, paused.next, { type: "resume" }, NOW, "admin")).toMatchObject({
				ok: true,
				next: { status: "running", weight: 25 },
			});
	});

	it("start, weight and finalize say that they need a spec", () => {
		for (const [s, action] of [
			[PENDING, { type: "start" }],
			[state("running", 5), { type: "weight", weight: 25 }],
			[state("promoted", 100), { type: "finalize" }],
		] as const) {
			expect(applyAction(null, s, action, NOW, "admin")).toMatchObject({
				ok: false,
				needsSpec: true,
				error: expect.stringMatching(/valid spec/),
			});
		}
	});
});

describe("finalize", () => {
	const promoted = state("promoted", 100);
	const result = apply(canary, promoted, { type: "finalize" });
	const next = result.ok ? result.next : promoted;
	const after = finalizedSpec(canary);

	it("concludes with the candidate's version named as the one now serving", () => {
		expect(result).toMatchObject({
			ok: true,
			next: { status: "concluded", weight: 0, finalized: "v2" },
		});
		expect(after.champion).toEqual(canary.candidate);
	});

	it("serves the candidate's version under every mix of old and new spec and state an edge may read", () => {
		const served = (spec: DeploymentSpec, s: RolloutState) => {
			const routing = routingOf(spec, s);
			if (routing.mode !== "split") throw new Error("not a split");
			return routing.threshold >= 10_000 ? spec.candidate.version : spec.champion.version;
		};
		expect(served(canary, promoted)).toBe("v2");
		expect(served(after, promoted)).toBe("v2");
		expect(served(after, next)).toBe("v2");
		expect(served(canary, next)).toBe("v2");
	});

	it("starts the next rollout without the finalized marker", () => {
		const v3 = DeploymentSpec.parse({
			...base,
			strategy: "canary",
			champion: { version: "v2", service: "B" },
			candidate: { version: "v3", service: "C" },
		});
		expect(routingOf(v3, next)).toEqual({ mode: "split", threshold: 0 });
		const started = apply(v3, next, { type: "start" });
		expect(started.ok && started.next.finalized).toBeUndefined();
	});
});
