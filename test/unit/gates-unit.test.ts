import { describe, expect, it } from "vitest";
import { DeploymentSpec, type DeploymentSpecInput } from "../../src/config/spec";
import type { RolloutState } from "../../src/config/state";
import { eventOf, type NotifyEvent } from "../../src/notify/events";
import { type AnalysisWindows, analyze, EMPTY_MEMORY } from "../../src/rollout/analysis";
import { decide } from "../../src/rollout/controller";
import { applyAction } from "../../src/rollout/transitions";
import { aggregate, windows } from "../helpers/aggregates";

// Saturday 28 November 2026, 12:00 UTC.
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

function canary(overrides: DeploymentSpecInput["canary"] = {}) {
	return DeploymentSpec.parse({
		name: "gated",
		strategy: "canary",
		champion: { version: "v1", service: "A" },
		candidate: { version: "v2", service: "B" },
		canary: { minRequests: 500, bakeSeconds: 300, ...overrides },
	});
}

function running(weight: number, step: number, extra: Partial<RolloutState> = {}): RolloutState {
	return {
		status: "running",
		weight,
		step,
		since: minutesAgo(10),
		startedAt: minutesAgo(60),
		reason: "",
		updatedBy: "controller",
		revision: 7,
		...extra,
	};
}

/** A healthy split at `weight` % (SRM-clean), or a failing one. */
function split(weight: number, candidateErrors = 0.005, total = 20_000): AnalysisWindows {
	const nb = Math.round((total * weight) / 100);
	return windows(
		Math.round(weight * 100),
		aggregate(total - nb, Math.round((total - nb) * 0.005)),
		aggregate(nb, Math.round(nb * candidateErrors)),
	);
}

function decideWith(spec: DeploymentSpec, state: RolloutState, w: AnalysisWindows) {
	const { report } = analyze(spec, state, w, EMPTY_MEMORY, NOW);
	return decide(spec, state, report, NOW);
}

describe("approval gates", () => {
	const spec = canary({ approvalBefore: [25, 100] });

	it("holds after the step passed, awaiting approval to go to the gated weight", () => {
		const decision = decideWith(spec, running(5, 1), split(5));
		expect(decision).toMatchObject({ kind: "hold", code: "awaiting_approval" });
		expect(decision.reason).toMatch(/^awaiting approval to go to 25 %: 5 % passed/);
		expect(decision.reason).toMatch(/npx switchyard approve gated/);
	});

	it("does not gate a step that is not listed", () => {
		expect(decideWith(spec, running(1, 0), split(1, 0.005, 60_000)).kind).toBe("step_up");
	});

	it("steps up once approved, and the approval is used up by the step", () => {
		const decision = decideWith(spec, running(5, 1, { approved: 25 }), split(5));
		expect(decision.kind).toBe("step_up");
		expect(decision.next).toMatchObject({ weight: 25, step: 2 });
		expect(decision.next?.approved).toBeUndefined();
	});

	it("an approval for another weight does not open this gate", () => {
		const decision = decideWith(spec, running(50, 3, { approved: 25 }), split(50));
		expect(decision).toMatchObject({ kind: "hold", code: "awaiting_approval" });
		expect(decision.reason).toMatch(/to go to 100 %/);
	});

	it("gates the promotion with 100", () => {
		const decision = decideWith(spec, running(50, 3, { approved: 100 }), split(50));
		expect(decision.kind).toBe("promote");
		expect(decision.next).toMatchObject({ status: "promoted", weight: 100 });
	});

	it("keeps the guardrails running while it waits: a failing candidate is aborted", () => {
		const decision = decideWith(spec, running(5, 1), split(5, 0.05));
		expect(decision.kind).toBe("abort");
		expect(decision.next).toMatchObject({ status: "aborted", weight: 0 });
	});

	it("waits for the bake time before asking", () => {
		const decision = decideWith(spec, running(5, 1, { since: minutesAgo(2) }), split(5));
		expect(decision.code).toBe("baking");
	});

	it("gates a shadow's move to its canary when the first step is listed", () => {
		const shadowSpec = DeploymentSpec.parse({
			...spec,
			strategy: "shadow",
			shadow: { promoteTo: "canary", minComparisons: 100, minAgreement: 0.5 },
			canary: { ...spec.canary, approvalBefore: [1] },
		});
		const shadowing: RolloutState = { ...running(0, 0), status: "shadowing" };
		const w = windows(
			0,
			aggregate(2000),
			aggregate(0),
			aggregate(2000, 0, 80, { compared: 2000, agreed: 1990 }),
		);
		expect(decideWith(shadowSpec, shadowing, w)).toMatchObject({
			kind: "hold",
			code: "awaiting_approval",
		});
		expect(decideWith(shadowSpec, { ...shadowing, approved: 1 }, w).kind).toBe("start_canary");
	});
});

describe("step windows in the controller", () => {
	const weekdays = canary({
		stepWindows: {
			timezone: "Europe/Berlin",
			days: ["mon", "tue", "wed", "thu", "fri"],
			hours: "09:00-17:00",
		},
	});

	it("holds a passed step outside the window and says when it opens", () => {
		const decision = decideWith(weekdays, running(5, 1), split(5));
		expect(decision).toMatchObject({ kind: "hold", code: "outside_window" });
		expect(decision.reason).toMatch(
			/waiting for the step window \(mon–fri 09:00-17:00 Europe\/Berlin\) to go to 25 %: opens 2026-11-30T08:00:00.000Z/,
		);
	});

	it("holds a promotion outside the window too", () => {
		expect(decideWith(weekdays, running(50, 3), split(50)).code).toBe("outside_window");
	});

	it("aborts outside the window", () => {
		expect(decideWith(weekdays, running(5, 1), split(5, 0.05)).kind).toBe("abort");
	});

	it("steps up inside the window", () => {
		const saturday = canary({
			stepWindows: { timezone: "Europe/Berlin", days: ["sat"], hours: "12:00-14:00" },
		});
		expect(decideWith(saturday, running(5, 1), split(5)).kind).toBe("step_up");
	});

	it("an approved step still waits for its window", () => {
		const both = canary({ ...weekdays.canary, approvalBefore: [25] });
		const decision = decideWith(both, running(5, 1, { approved: 25 }), split(5));
		expect(decision.code).toBe("outside_window");
		expect(decision.reason).toMatch(/^approved; waiting for the step window/);
	});
});

describe("the approve action", () => {
	const spec = canary({ approvalBefore: [25] });
	const approve = (state: RolloutState, s: DeploymentSpec | null = spec) =>
		applyAction(s, state, { type: "approve" }, NOW, "admin");

	it("approves the next step when it is gated, with a new revision", () => {
		const result = approve(running(5, 1));
		expect(result).toMatchObject({
			ok: true,
			next: { status: "running", weight: 5, approved: 25, revision: 8, updatedBy: "admin" },
		});
	});

	it("keeps the step's since: its bake time and request counts go on after an approval", () => {
		const state = running(5, 1);
		const result = approve(state);
		if (!result.ok) throw new Error("approve refused");
		expect(state.since).toBeDefined();
		expect(result.next.since).toBe(state.since);
	});

	it("refuses when the next step needs no approval, in an A/B test, or after the end", () => {
		expect(approve(running(1, 0))).toMatchObject({
			ok: false,
			error: expect.stringMatching(/the next step \(5 %\) needs no approval/),
		});
		const ab = DeploymentSpec.parse({ ...spec, strategy: "ab" });
		expect(approve(running(50, 0), ab).ok).toBe(false);
		expect(approve({ ...running(0, 0), status: "aborted" }).ok).toBe(false);
		expect(approve(running(5, 1), null)).toMatchObject({ ok: false, needsSpec: true });
	});

	it("survives pause and resume; a new weight withdraws it", () => {
		const approved = approve(running(5, 1));
		if (!approved.ok) throw new Error("approve refused");
		const paused = applyAction(spec, approved.next, { type: "pause" }, NOW, "admin");
		if (!paused.ok) throw new Error("pause refused");
		expect(paused.next.approved).toBe(25);
		const resumed = applyAction(spec, paused.next, { type: "resume" }, NOW, "admin");
		if (!resumed.ok) throw new Error("resume refused");
		expect(resumed.next.approved).toBe(25);
		const moved = applyAction(spec, resumed.next, { type: "weight", weight: 10 }, NOW, "admin");
		if (!moved.ok) throw new Error("weight refused");
		expect(moved.next.approved).toBeUndefined();
	});
});

describe("spec fields for gates, windows and notifications", () => {
	const base = {
		name: "n",
		strategy: "canary",
		champion: { version: "v1", service: "A" },
		candidate: { version: "v2", service: "B" },
	};
	const issues = (input: object) => {
		const parsed = DeploymentSpec.safeParse(input);
		return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join("."));
	};

	it("defaults to no gates, no windows and no webhooks", () => {
		const spec = DeploymentSpec.parse(base);
		expect(spec.canary.approvalBefore).toEqual([]);
		expect(spec.canary.stepWindows).toBeUndefined();
		expect(spec.notify).toEqual([]);
	});

	it("fills a window's days and hours, and a webhook's format", () => {
		const spec = DeploymentSpec.parse({
			...base,
			canary: { stepWindows: { timezone: "UTC" } },
			notify: [{ url: "https://hooks.example.com/x" }],
		});
		expect(spec.canary.stepWindows).toEqual({
			timezone: "UTC",
			days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
			hours: "00:00-24:00",
		});
		expect(spec.notify).toEqual([{ url: "https://hooks.example.com/x", format: "json" }]);
	});

	it("refuses gates that are not steps, unknown zones, bad hours, plain-http webhooks and unknown events", () => {
		expect(issues({ ...base, canary: { approvalBefore: [30] } })).toEqual([
			"canary.approvalBefore.0",
		]);
		expect(issues({ ...base, canary: { stepWindows: { timezone: "Mars/Olympus" } } })).toEqual([
			"canary.stepWindows.timezone",
		]);
		expect(
			issues({ ...base, canary: { stepWindows: { timezone: "UTC", hours: "17:00-09:00" } } }),
		).toEqual(["canary.stepWindows.hours"]);
		expect(issues({ ...base, notify: [{ url: "http://hooks.example.com/x" }] })).toEqual([
			"notify.0.url",
		]);
		expect(issues({ ...base, notify: [{ url: "http://127.0.0.1:9/x" }] })).toEqual([]);
		expect(
			issues({ ...base, notify: [{ url: "https://h.example.com", events: ["explode"] }] }),
		).toEqual(["notify.0.events.0"]);
	});
});

describe("which audit entries are notification events", () => {
	const at = (status: string, weight: number) => ({ status, weight });
	const cases: [string, string | undefined, string, string, NotifyEvent | null][] = [
		["admin:start", undefined, "pending", "running", "start"],
		["step_up", undefined, "running", "running", "step_up"],
		["start_canary", undefined, "shadowing", "running", "step_up"],
		["hold", "awaiting_approval", "running", "running", "awaiting_approval"],
		["hold", "srm", "running", "running", "hold:srm"],
		["hold", "underpowered", "running", "running", "hold:underpowered"],
		["hold", "baking", "running", "running", null],
		["admin:approve", undefined, "running", "running", "approved"],
		["promote", undefined, "running", "promoted", "promote"],
		["admin:promote", undefined, "running", "promoted", "promote"],
		["admin:promote", undefined, "shadowing", "running", "step_up"],
		["abort", undefined, "running", "aborted", "abort"],
		["admin:abort", undefined, "running", "aborted", "abort"],
		["admin:pause", undefined, "running", "paused", "pause"],
		["admin:resume", undefined, "paused", "running", "resume"],
		["manual", undefined, "running", "paused", "pause"],
		["manual", undefined, "paused", "running", "resume"],
		["manual", undefined, "running", "aborted", "abort"],
		["manual", undefined, "running", "running", null],
		["admin:weight", undefined, "running", "running", null],
		["spec_invalid", undefined, "running", "running", null],
	];
	it.each(cases)("%s (%s) from %s to %s is %s", (kind, code, from, to, event) => {
		expect(eventOf({ kind, code, from: at(from, 5), to: at(to, 5) })).toBe(event);
	});
});
