/**
 * One authority per rollout: the deployment object owns spec and state, and
 * no stale read, bad spec, failing KV or delete can undo a decision. KV is the
 * real local binding, wrapped (test/helpers/kv.ts) where a test needs it to
 * serve stale values, be slow or fail.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clearConfigCache } from "../../src/config/cache";
import { Authority } from "../../src/deployment/authority";
import { runController } from "../../src/deployment/cron";
import { admin, adminJson } from "../helpers/admin";
import { kvState, look, recordTraffic } from "../helpers/controller";
import { predict, putSpec, putState, spec, uniqueName, Visitor } from "../helpers/edge";
import { type KvFaults, unreliableKv } from "../helpers/kv";

const object = (name: string) => env.DEPLOYMENT.getByName(name);
const history = async (name: string) => (await object(name).history(100)).reverse();

/** Runs `body` with an authority over the deployment object's real storage and a misbehaving KV. */
function withAuthority<T>(
	name: string,
	faults: KvFaults,
	body: (authority: Authority) => Promise<T>,
	kvDeadlineMs?: number,
): Promise<T> {
	return runInDurableObject(object(name), (_instance, state) =>
		body(
			new Authority(state.storage, unreliableKv(env.CONFIG, faults), name, undefined, kvDeadlineMs),
		),
	);
}

const canary = (name: string, canaryPolicy: Record<string, unknown> = {}) =>
	spec(name, {
		strategy: "canary",
		canary: { minRequests: 50, bakeSeconds: 0, ...canaryPolicy },
	});

async function created(name: string, canaryPolicy: Record<string, unknown> = {}): Promise<void> {
	expect((await admin("PUT", `/deployments/${name}`, canary(name, canaryPolicy))).status).toBe(201);
}

async function action(name: string, verb: string, body?: unknown): Promise<Response> {
	return admin("POST", `/deployments/${name}/${verb}`, body);
}

async function variants(name: string, visitors: number): Promise<Set<string | null>> {
	const seen = await Promise.all(
		Array.from({ length: visitors }, () => new Visitor().variant(name)),
	);
	return new Set(seen);
}

describe("revisions decide: a stale KV read never undoes a decision", () => {
	it("keeps an abort when KV serves the state of the start again (the measured failure)", async () => {
		const name = uniqueName("stale-abort");
		await created(name);
		await action(name, "start");
		const started = await env.CONFIG.get(`state:${name}`);
		expect(JSON.parse(started ?? "{}")).toMatchObject({ status: "running", revision: 1 });
		expect((await action(name, "abort")).status).toBe(200);
		// What a KV replica up to 60 s behind returns: the revision-1 state.
		await env.CONFIG.put(`state:${name}`, started ?? "");
		const result = await look(name);
		expect(result).toMatchObject({ ok: true, state: { status: "aborted", revision: 2 } });
		expect(await kvState(name)).toMatchObject({ status: "aborted", weight: 0, revision: 2 });
		expect((await history(name)).map((e) => e.kind)).not.toContain("manual");
		expect(await variants(name, 30)).toEqual(new Set(["champion"]));
	});

	it("ignores a replica that keeps serving the old state, look after look", async () => {
		const name = uniqueName("stale-replica");
		await created(name);
		await action(name, "start");
		const started = (await env.CONFIG.get(`state:${name}`)) ?? "";
		await action(name, "abort");
		const stale = new Map([[`state:${name}`, started]]);
		for (let i = 0; i < 3; i++) {
			const result = await withAuthority(name, { stale }, (a) => a.look(Date.now()));
			expect(result).toMatchObject({ ok: true, state: { status: "aborted" } });
		}
		expect(await kvState(name)).toMatchObject({ status: "aborted", revision: 2 });
		expect((await history(name)).map((e) => e.kind)).toEqual([
			"admin:create",
			"admin:start",
			"admin:abort",
		]);
	});

	it("respects an old copy edited by hand: its revision is old, its content was never published", async () => {
		const name = uniqueName("edited-copy");
		await created(name);
		await action(name, "start");
		const started = JSON.parse((await env.CONFIG.get(`state:${name}`)) ?? "{}");
		await action(name, "pause");
		// An operator copies the revision-1 state from somewhere and sets another weight.
		await env.CONFIG.put(`state:${name}`, JSON.stringify({ ...started, weight: 25 }));
		const result = await look(name);
		expect(result).toMatchObject({ ok: true, state: { status: "running", weight: 25 } });
		expect((await history(name)).map((e) => e.kind)).toContain("manual");
		expect(await kvState(name)).toMatchObject({ weight: 25, updatedBy: "manual", revision: 3 });
	});

	it("respects a hand edit and logs it once, though a replica keeps serving its text", async () => {
		const name = uniqueName("hand-edit");
		await created(name);
		await action(name, "start");
		const edit = JSON.stringify({ status: "paused", weight: 10 });
		await env.CONFIG.put(`state:${name}`, edit);
		const stale = new Map([[`state:${name}`, edit]]);
		for (let i = 0; i < 3; i++) await withAuthority(name, { stale }, (a) => a.look(Date.now()));
		await look(name);
		const kinds = (await history(name)).map((e) => e.kind);
		expect(kinds.filter((k) => k === "manual")).toHaveLength(1);
		expect(await kvState(name)).toMatchObject({
			status: "paused",
			weight: 10,
			step: 1,
			updatedBy: "manual",
			revision: 2,
		});
	});
});

describe("one operation at a time, nothing lost", () => {
	it("steps once when looks overlap, even with slow KV", async () => {
		const name = uniqueName("overlap");
		await created(name);
		await action(name, "start");
		await recordTraffic(name, 1, 10_000);
		const now = Date.now();
		await withAuthority(name, { delayMs: 20 }, (a) =>
			Promise.all([
				a.look(now),
				a.look(now),
				a.look(now + 1),
				a.act({ action: { type: "pause" }, actor: "admin", now }),
			]),
		);
		const kinds = (await history(name)).map((e) => e.kind);
		expect(kinds.filter((k) => k === "step_up")).toHaveLength(1);
		expect(kinds).toContain("admin:pause");
		expect(await kvState(name)).toMatchObject({ status: "paused", weight: 5 });
	});

	it("keeps an admin action that KV refused to store, and publishes it on the next look", async () => {
		const name = uniqueName("write-fails");
		await created(name);
		await action(name, "start");
		const result = await withAuthority(name, { failWrites: true }, (a) =>
			a.act({ action: { type: "abort" }, actor: "admin", now: Date.now() }),
		);
		expect(result).toMatchObject({ ok: true, published: false, state: { status: "aborted" } });
		expect(await kvState(name)).toMatchObject({ status: "running" });
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "aborted", weight: 0 });
	});

	it("gives up on a KV call that hangs: the action is kept and published by the next look", async () => {
		const name = uniqueName("kv-hangs");
		await created(name);
		await action(name, "start");
		const result = await withAuthority(
			name,
			{ delayMs: 3000 },
			(a) => a.act({ action: { type: "abort" }, actor: "admin", now: Date.now() }),
			100,
		);
		// Answered at the deadline, not when KV woke up: the state is the object's, not yet KV's.
		expect(result).toMatchObject({ ok: true, published: false, state: { status: "aborted" } });
		expect(await kvState(name)).toMatchObject({ status: "running" });
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "aborted", weight: 0 });
	});

	it("runs the guardrails on its own record when KV cannot be read", async () => {
		const name = uniqueName("read-fails");
		await created(name, { steps: [50, 100] });
		await action(name, "start");
		await recordTraffic(name, 50, 1000, 0.5);
		const result = await withAuthority(name, { failReads: true }, (a) => a.look(Date.now()));
		expect(result).toMatchObject({ ok: true, state: { status: "aborted" }, published: true });
		expect(await kvState(name)).toMatchObject({ status: "aborted" });
	});

	it("sends one call per deployment from the cron, and a failing object does not stop the others", async () => {
		const names = [uniqueName("cron-a"), uniqueName("cron-b"), uniqueName("cron-c")];
		for (const name of names) {
			await created(name, { steps: [50, 100] });
			await action(name, "start");
			await recordTraffic(name, 50, 1000);
		}
		const calls: string[] = [];
		const broken = names[1] as string;
		const namespace = {
			getByName(name: string) {
				const stub = env.DEPLOYMENT.getByName(name);
				return {
					look(now: number) {
						calls.push(name);
						if (name === broken) throw new Error("object unavailable (injected)");
						return stub.look(now);
					},
				};
			},
		} as unknown as typeof env.DEPLOYMENT;
		const run = await runController(
			{ CONFIG: env.CONFIG, DEPLOYMENT: namespace },
			Date.now(),
			names,
		);
		expect(calls.sort()).toEqual([...names].sort());
		expect(run.failed).toEqual([{ name: broken, error: expect.stringMatching(/unavailable/) }]);
		expect(run.changed.sort()).toEqual(names.filter((n) => n !== broken).sort());
		expect(await kvState(broken)).toMatchObject({ status: "running", weight: 50 });
		// The next minute, the object answers again and is evaluated.
		await runController(env, Date.now(), [broken]);
		expect(await kvState(broken)).toMatchObject({ status: "promoted" });
	});
});

describe("abort and pause never depend on the spec", () => {
	it("aborts with an invalid spec in KV (the measured 422) and a missing one", async () => {
		for (const breakSpec of [
			(name: string) => env.CONFIG.put(`deployment:${name}`, "{not json"),
			(name: string) => env.CONFIG.delete(`deployment:${name}`),
		]) {
			const name = uniqueName("abort-no-spec");
			await created(name);
			await action(name, "start");
			await breakSpec(name);
			const res = await adminJson("POST", `/deployments/${name}/abort`);
			expect(res.status).toBe(200);
			expect(await kvState(name)).toMatchObject({ status: "aborted", weight: 0 });
		}
	});

	it("pauses with an invalid spec, and refuses a start with a clear reason", async () => {
		const name = uniqueName("pause-no-spec");
		await created(name);
		await env.CONFIG.put(`deployment:${name}`, JSON.stringify({ name, strategy: "rainbow" }));
		const start = await adminJson<{ error: { code: string } }>(
			"POST",
			`/deployments/${name}/start`,
		);
		// The object kept the last valid spec: start works on it.
		expect(start.status).toBe(200);
		expect((await adminJson("POST", `/deployments/${name}/pause`)).status).toBe(200);
		expect(await kvState(name)).toMatchObject({ status: "paused" });
	});

	it("keeps evaluating a rollout whose spec turned invalid, on the last valid spec", async () => {
		const name = uniqueName("guardrails-go-on");
		await created(name, { steps: [50, 100] });
		await action(name, "start");
		await env.CONFIG.put(`deployment:${name}`, "{broken");
		await recordTraffic(name, 50, 1000, 0.5);
		await look(name);
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "aborted" });
		const kinds = (await history(name)).map((e) => e.kind);
		expect(kinds.filter((k) => k === "spec_invalid")).toHaveLength(1);
	});

	it("serves a cold isolate from the object's last valid spec instead of answering 503", async () => {
		const name = uniqueName("cold-rescue");
		await created(name);
		await action(name, "start");
		await env.CONFIG.put(`deployment:${name}`, "{broken");
		clearConfigCache();
		const res = await predict(name);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-model-version")).toMatch(/^v[12]$/);
		await res.arrayBuffer();
	});
});

describe("delete is final", () => {
	it("stays deleted through a leftover state and a look in flight; a new spec starts pending", async () => {
		const name = uniqueName("deleted");
		await created(name);
		await action(name, "start");
		const live = (await env.CONFIG.get(`state:${name}`)) ?? "";
		const [deleted] = await Promise.all([admin("DELETE", `/deployments/${name}`), look(name)]);
		expect(deleted.status).toBe(200);
		expect(await env.CONFIG.get(`deployment:${name}`)).toBeNull();
		// An orphan state key comes back (a replica, a script); a run looks again.
		await env.CONFIG.put(`state:${name}`, live);
		expect(await look(name)).toMatchObject({ ok: false });
		expect((await predict(name)).status).toBe(404);
		// Re-creating the name starts from pending: the orphan state never puts it live.
		await created(name);
		expect(await kvState(name)).toMatchObject({ status: "pending", weight: 0 });
		expect(await variants(name, 20)).toEqual(new Set(["champion"]));
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "pending" });
		const kinds = (await history(name)).map((e) => e.kind);
		expect(kinds.slice(-3)).toEqual(["admin:delete", "recreated", "admin:create"]);
	});

	it("treats a stale copy of the deleted spec as a leftover, and a new spec written by hand as a re-creation", async () => {
		const name = uniqueName("deleted-by-hand");
		await created(name);
		await action(name, "start");
		const old = (await env.CONFIG.get(`deployment:${name}`)) ?? "";
		await admin("DELETE", `/deployments/${name}`);
		await env.CONFIG.put(`deployment:${name}`, old);
		expect(await look(name)).toMatchObject({
			ok: false,
			skipped: expect.stringMatching(/deleted/),
		});
		expect(await env.CONFIG.get(`deployment:${name}`)).toBeNull();
		await putSpec(canary(name, { minRequests: 60 }));
		await putState(name, { status: "running", weight: 25, revision: 3 });
		expect(await look(name)).toMatchObject({ ok: true, state: { status: "pending" } });
		expect(await kvState(name)).toMatchObject({ status: "pending" });
	});
});

describe("finalize never flips traffic back", () => {
	it("serves the candidate's version to every request from promotion on, while the writes spread", async () => {
		const name = uniqueName("finalize");
		await created(name);
		await action(name, "start");
		await action(name, "promote");
		const versions: string[] = [];
		let finalizing = true;
		const traffic = (async () => {
			while (finalizing) {
				const res = await new Visitor().predict(name);
				versions.push(res.headers.get("x-model-version") ?? "none");
				await res.arrayBuffer();
			}
		})();
		const written: string[] = [];
		const result = await withAuthority(
			name,
			{ delayMs: 40, onWrite: (key) => written.push(key) },
			(a) => a.act({ action: { type: "finalize" }, actor: "admin", now: Date.now() }),
		);
		finalizing = false;
		await traffic;
		expect(result).toMatchObject({
			ok: true,
			published: true,
			state: { status: "concluded", finalized: "v2" },
		});
		expect(written).toEqual([`deployment:${name}`, `state:${name}`]);
		expect(versions.length).toBeGreaterThan(3);
		expect(new Set(versions)).toEqual(new Set(["v2"]));
		expect(JSON.parse((await env.CONFIG.get(`deployment:${name}`)) ?? "{}")).toMatchObject({
			champion: { version: "v2" },
		});
		expect(await variants(name, 20)).toEqual(new Set(["champion"]));
	});
});
