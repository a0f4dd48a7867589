import { describe, expect, it } from "vitest";
import { DeploymentSpec } from "../../src/config/spec";
import { PENDING, type RolloutState } from "../../src/config/state";
import { reconcile, sameState } from "../../src/rollout/reconcile";
import { nextStepAbove, stepIndexFor } from "../../src/rollout/steps";
import { type AdminAction, applyAction } from "../../src/rollout/transitions";

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

describe("reconciling with KV", () => {
	const stored = state("running", 5, { step: 1 });

	it("sees no change when KV holds what was published", () => {
		expect(
			reconcile(
				canary,
				stored,
				stored,
				{ kind: "ok", state: JSON.parse(JSON.stringify(stored)) },
				NOW,
			),
		).toEqual({ state: stored });
	});

	it("adopts a hand edit to paused, recorded as manual", () => {
		const edited = {
			...PENDING,
			status: "paused" as const,
			weight: 10,
			updatedBy: "manual" as const,
			revision: 0,
			reason: "",
		};
		const result = reconcile(canary, stored, stored, { kind: "ok", state: edited }, NOW);
		expect(result.state).toMatchObject({
			status: "paused",
			weight: 10,
			step: 1,
			revision: 5,
			updatedBy: "manual",
			pausedFrom: "running",
			since: AT,
		});
		expect(result.event).toMatchObject({ kind: "manual", actor: "manual", from: stored });
		expect(result.event?.reason).toMatch(/running 5 % → paused 10 %/);
	});

	it("keeps a hand-set weight as the current step so the next step continues above it", () => {
		const edited = { ...stored, weight: 30, revision: 0 };
		expect(
			reconcile(canary, stored, stored, { kind: "ok", state: edited }, NOW).state,
		).toMatchObject({ weight: 30, step: 2 });
	});

	it("keeps an aborted hand edit aborted, at weight 0", () => {
		const edited = { ...stored, status: "aborted" as const, weight: 40 };
		expect(
			reconcile(canary, stored, stored, { kind: "ok", state: edited }, NOW).state,
		).toMatchObject({ status: "aborted", weight: 0 });
	});

	it("adopts the state found in KV on first contact (seeded demos)", () => {
		const seeded = {
			...PENDING,
			status: "running" as const,
			weight: 50,
			updatedBy: "seed" as const,
		};
		const result = reconcile(ab, null, null, { kind: "ok", state: seeded }, NOW);
		expect(result.state).toMatchObject({ status: "running", weight: 50, revision: 1, since: AT });
		// Kept as found: the edge tags observations with the same (absent) epoch.
		expect(result.state.startedAt).toBeUndefined();
		expect(result.event?.kind).toBe("adopted");
	});

	it("repairs an invalid or deleted KV state by republishing its own", () => {
		expect(
			reconcile(
				canary,
				stored,
				stored,
				{ kind: "invalid", issues: [{ path: "status", message: "bad" }] },
				NOW,
			),
		).toMatchObject({ state: stored, event: { kind: "repair" } });
		expect(reconcile(canary, stored, stored, { kind: "missing" }, NOW)).toMatchObject({
			state: stored,
			event: { kind: "repair" },
		});
	});

	it("compares states by content, not key order", () => {
		const reordered = Object.fromEntries(Object.entries(stored).reverse()) as RolloutState;
		expect(sameState(stored, reordered)).toBe(true);
		expect(sameState(stored, { ...stored, weight: 6 })).toBe(false);
	});
});
