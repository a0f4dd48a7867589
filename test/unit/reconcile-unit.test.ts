import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KvValue } from "../../src/config/kv";
import { DeploymentSpec } from "../../src/config/spec";
import { type KvRolloutState, PENDING, type RolloutState } from "../../src/config/state";
import { canonicalState, reconcile, sameState } from "../../src/rollout/reconcile";

const NOW = Date.UTC(2026, 10, 28, 12);
const AT = new Date(NOW).toISOString();
const canary = DeploymentSpec.parse({
	name: "d",
	strategy: "canary",
	champion: { version: "v1", service: "A" },
	candidate: { version: "v2", service: "B" },
});
const ab = DeploymentSpec.parse({ ...canary, strategy: "ab" });

function state(
	status: RolloutState["status"],
	weight: number,
	revision: number,
	extra: Partial<RolloutState> = {},
): RolloutState {
	return {
		status,
		weight,
		step: 0,
		reason: "",
		updatedBy: "controller",
		revision,
		since: "2026-11-28T11:00:00.000Z",
		startedAt: "2026-11-28T10:00:00.000Z",
		...extra,
	};
}

/** What KV returns for a state written as JSON (defaults filled as the parser would). */
function inKv(
	value: Partial<KvRolloutState> & Pick<KvRolloutState, "status">,
): KvValue<KvRolloutState> {
	const parsed: KvRolloutState = { weight: 0, step: 0, reason: "", updatedBy: "manual", ...value };
	return { kind: "ok", raw: JSON.stringify(value), value: parsed };
}

const running1 = state("running", 1, 1);
const aborted2 = state("aborted", 0, 2, { reason: "aborted by an operator" });

describe("revisions decide, not content", () => {
	it("ignores a stale copy of an earlier revision: an abort is never undone", () => {
		const result = reconcile({
			spec: canary,
			stored: aborted2,
			published: aborted2,
			handledRaw: null,
			kv: inKv(running1),
			now: NOW,
		});
		expect(result.state).toBe(aborted2);
		expect(result.event).toBeUndefined();
		expect(result.kv).toBe("differs");
		expect(result.stale).toEqual({ revision: 1, published: 2 });
	});

	it("sees KV in sync when it holds the current revision with the same content", () => {
		const result = reconcile({
			spec: canary,
			stored: aborted2,
			published: null,
			handledRaw: "earlier hand edit",
			kv: inKv(JSON.parse(JSON.stringify(aborted2))),
			now: NOW,
		});
		expect(result).toMatchObject({ state: aborted2, kv: "published", handledRaw: null });
		expect(result.event).toBeUndefined();
	});

	it("waits quietly while KV still holds the last published revision of a newer state", () => {
		const stepped = state("running", 5, 2, { step: 1 });
		const result = reconcile({
			spec: canary,
			stored: stepped,
			published: running1,
			handledRaw: null,
			kv: inKv(running1),
			now: NOW,
		});
		expect(result).toEqual({ state: stepped, kv: "unchanged" });
	});

	it("treats the current revision with other content as a hand edit", () => {
		const result = reconcile({
			spec: canary,
			stored: running1,
			published: running1,
			handledRaw: null,
			kv: inKv({ ...running1, status: "paused", weight: 10 }),
			now: NOW,
		});
		expect(result.event?.kind).toBe("manual");
		expect(result.state).toMatchObject({ status: "paused", weight: 10, step: 1, revision: 2 });
	});

	it("never adopts a copy whose revision is below the last published one (property)", () => {
		const status = fc.constantFrom(...(["running", "paused", "promoted", "aborted"] as const));
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 1000 }),
				fc.integer({ min: 0, max: 1000 }),
				fc.integer({ min: 1, max: 1000 }),
				status,
				status,
				fc.integer({ min: 0, max: 100 }),
				(published, ahead, behind, storedStatus, kvStatus, weight) => {
					const stored = state(storedStatus, 5, published + ahead);
					const result = reconcile({
						spec: canary,
						stored,
						published: state(storedStatus, 5, published),
						handledRaw: null,
						kv: inKv({ status: kvStatus, weight, revision: Math.max(0, published - behind) }),
						now: NOW,
					});
					return result.state === stored && result.event === undefined;
				},
			),
			{ seed: 42, numRuns: 500 },
		);
	});

	it("tells a stale copy of a published state from an old state edited by hand", () => {
		const copies = { since: 1, texts: [canonicalState(running1), canonicalState(aborted2)] };
		const base = {
			spec: canary,
			stored: aborted2,
			published: aborted2,
			handledRaw: null,
			now: NOW,
		};
		// The very copy published at revision 1: a replica behind, ignored.
		const stale = reconcile({ ...base, copies, kv: inKv(running1) });
		expect(stale).toMatchObject({ state: aborted2, stale: { revision: 1, published: 2 } });
		// Revision 1 with a weight nobody published: an operator edited an old copy.
		const edited = { ...running1, weight: 25, reason: "" };
		const manual = reconcile({ ...base, copies, kv: inKv(edited) });
		expect(manual.event).toMatchObject({ kind: "manual", actor: "manual" });
		expect(manual.state).toMatchObject({ status: "running", weight: 25, revision: 3 });
		// Before the copies were kept (revision < since), a lower revision stays stale.
		const untracked = reconcile({ ...base, copies: { ...copies, since: 2 }, kv: inKv(edited) });
		expect(untracked.stale).toEqual({ revision: 1, published: 2 });
	});
});

describe("hand edits", () => {
	const stored = state("running", 5, 4, { step: 1 });

	it("adopts a hand edit to paused, recorded as manual, and remembers its text", () => {
		const kv = inKv({ status: "paused", weight: 10 });
		const result = reconcile({
			spec: canary,
			stored,
			published: stored,
			handledRaw: null,
			kv,
			now: NOW,
		});
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
		expect(result.handledRaw).toBe(kv.kind === "ok" ? kv.raw : "");
	});

	it("does not adopt a later copy of the same hand edit again", () => {
		const kv = inKv({ status: "paused", weight: 10 });
		const first = reconcile({
			spec: canary,
			stored,
			published: stored,
			handledRaw: null,
			kv,
			now: NOW,
		});
		const again = reconcile({
			spec: canary,
			stored: first.state,
			published: null,
			handledRaw: first.handledRaw ?? null,
			kv,
			now: NOW + 60_000,
		});
		expect(again.state).toBe(first.state);
		expect(again.event).toBeUndefined();
		expect(again.kv).toBe("differs");
	});

	it("keeps a hand-set weight as the current step so the next step continues above it", () => {
		const result = reconcile({
			spec: canary,
			stored,
			published: stored,
			handledRaw: null,
			kv: inKv({ status: "running", weight: 30 }),
			now: NOW,
		});
		expect(result.state).toMatchObject({ weight: 30, step: 2 });
	});

	it("keeps an aborted hand edit aborted, at weight 0", () => {
		const result = reconcile({
			spec: canary,
			stored,
			published: stored,
			handledRaw: null,
			kv: inKv({ status: "aborted", weight: 40 }),
			now: NOW,
		});
		expect(result.state).toMatchObject({ status: "aborted", weight: 0 });
	});

	it("keeps the step of an A/B test and works without a spec", () => {
		const edit = inKv({ status: "running", weight: 30, step: 0 });
		for (const spec of [ab, null]) {
			const result = reconcile({
				spec,
				stored,
				published: stored,
				handledRaw: null,
				kv: edit,
				now: NOW,
			});
			expect(result.state).toMatchObject({ weight: 30, step: 0 });
		}
	});
});

describe("first contact and repairs", () => {
	it("adopts the state found in KV on first contact (seeded demos)", () => {
		const result = reconcile({
			spec: ab,
			stored: null,
			published: null,
			handledRaw: null,
			kv: inKv({ status: "running", weight: 50, updatedBy: "seed" }),
			now: NOW,
		});
		expect(result.state).toMatchObject({ status: "running", weight: 50, revision: 1, since: AT });
		// Kept as found: the edge tags observations with the same (absent) epoch.
		expect(result.state.startedAt).toBeUndefined();
		expect(result.event?.kind).toBe("adopted");
	});

	it("starts from pending when nothing is in KV", () => {
		expect(
			reconcile({
				spec: canary,
				stored: null,
				published: null,
				handledRaw: null,
				kv: { kind: "missing" },
				now: NOW,
			}),
		).toEqual({ state: PENDING, kv: "unchanged" });
	});

	it("repairs an invalid KV state once, and a missing one, by republishing its own", () => {
		const stored = state("running", 5, 4);
		const invalid: KvValue<KvRolloutState> = {
			kind: "invalid",
			raw: "{oops",
			issues: [{ path: "", message: "invalid JSON" }],
		};
		const first = reconcile({
			spec: canary,
			stored,
			published: stored,
			handledRaw: null,
			kv: invalid,
			now: NOW,
		});
		expect(first).toMatchObject({ state: stored, kv: "differs", event: { kind: "repair" } });
		const again = reconcile({
			spec: canary,
			stored,
			published: null,
			handledRaw: first.handledRaw ?? null,
			kv: invalid,
			now: NOW,
		});
		expect(again.event).toBeUndefined();
		expect(
			reconcile({
				spec: canary,
				stored,
				published: stored,
				handledRaw: null,
				kv: { kind: "missing" },
				now: NOW,
			}),
		).toMatchObject({ state: stored, kv: "differs", event: { kind: "repair" } });
	});

	it("compares states by content, not key order", () => {
		const stored = state("running", 5, 4);
		const reordered = Object.fromEntries(Object.entries(stored).reverse()) as RolloutState;
		expect(sameState(stored, reordered)).toBe(true);
		expect(canonicalState(stored)).toBe(canonicalState(reordered));
		expect(sameState(stored, { ...stored, weight: 6 })).toBe(false);
	});
});
