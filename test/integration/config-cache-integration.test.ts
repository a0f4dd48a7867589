import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { clearConfigCache, loadDeployment } from "../../src/config/cache";
import { updateIndex } from "../../src/config/kv";
import { DeploymentSpec } from "../../src/config/spec";
import { putSpec, putState, spec, uniqueName } from "../helpers/edge";

/** The real local KV binding, with its read requests counted: deployment keys, and the index. */
function countingKv() {
	const counter = { reads: 0, indexReads: 0 };
	const kv = new Proxy(env.CONFIG, {
		get(target, property, receiver) {
			if (property === "get") {
				return (...args: Parameters<KVNamespace["get"]>) => {
					if ((args[0] as unknown) === "index:deployments") counter.indexReads++;
					else counter.reads++;
					return (target.get as (...a: unknown[]) => unknown)(...args);
				};
			}
			return Reflect.get(target, property, receiver);
		},
	});
	return { kv, counter };
}

describe("isolate config cache", () => {
	beforeEach(() => clearConfigCache());

	it("costs one KV read per TTL for steady traffic", async () => {
		const name = uniqueName("steady");
		await putSpec(spec(name));
		await putState(name, { status: "running", weight: 10 });
		const { kv, counter } = countingKv();
		for (let t = 0; t < 10_000; t += 100) await loadDeployment(kv, name, { ttlMs: 10_000, now: t });
		expect(counter).toEqual({ reads: 1, indexReads: 1 });
		await loadDeployment(kv, name, { ttlMs: 10_000, now: 10_000 });
		expect(counter).toEqual({ reads: 2, indexReads: 2 });
	});

	it("keeps serving through a KV outage with one failing read per TTL, not one per request", async () => {
		const name = uniqueName("outage");
		await putSpec(spec(name));
		await putState(name, { status: "running", weight: 10 });
		const counter = { reads: 0, indexReads: 0 };
		let down = false;
		const kv = new Proxy(env.CONFIG, {
			get(target, property, receiver) {
				if (property !== "get") return Reflect.get(target, property, receiver);
				return (...args: Parameters<KVNamespace["get"]>) => {
					if ((args[0] as unknown) === "index:deployments") counter.indexReads++;
					else counter.reads++;
					if (down) return Promise.reject(new Error("KV is down (injected)"));
					return (target.get as (...a: unknown[]) => unknown)(...args);
				};
			},
		});
		await loadDeployment(kv, name, { ttlMs: 1000, now: 0 });
		down = true;
		const { reads, indexReads } = counter;
		for (let t = 1000; t < 3000; t += 10) {
			const view = await loadDeployment(kv, name, { ttlMs: 1000, now: t });
			expect(view).toMatchObject({ kind: "ok", state: { weight: 10 } });
		}
		// Two TTLs of requests (200 of them): two failing attempts, of the deployment's keys and of the index.
		expect(counter.reads - reads).toBeLessThanOrEqual(2 * 2);
		expect(counter.indexReads - indexReads).toBeLessThanOrEqual(2);
	});

	it("serves a concurrent burst after expiry with one read (single flight)", async () => {
		const name = uniqueName("burst");
		await putSpec(spec(name));
		const { kv, counter } = countingKv();
		await loadDeployment(kv, name, { ttlMs: 1000, now: 0 });
		const views = await Promise.all(
			Array.from({ length: 50 }, () => loadDeployment(kv, name, { ttlMs: 1000, now: 5000 })),
		);
		expect(counter.reads).toBe(2);
		expect(views.every((v) => v.kind === "ok")).toBe(true);
	});

	it("serves a concurrent burst on a cold isolate with one read", async () => {
		const name = uniqueName("cold");
		await putSpec(spec(name));
		const { kv, counter } = countingKv();
		const views = await Promise.all(
			Array.from({ length: 20 }, () => loadDeployment(kv, name, { ttlMs: 1000, now: 0 })),
		);
		expect(counter.reads).toBe(1);
		expect(views.every((v) => v.kind === "ok")).toBe(true);
	});

	it("answers unknown names from the index: a scan of junk names reads no deployment key", async () => {
		const real = uniqueName("real");
		await putSpec(spec(real));
		const { kv, counter } = countingKv();
		await loadDeployment(kv, real, { ttlMs: 10_000, now: 0 });
		for (let i = 0; i < 2000; i++)
			expect((await loadDeployment(kv, `junk-${i}`, { ttlMs: 10_000, now: i })).kind).toBe(
				"missing",
			);
		expect(counter).toEqual({ reads: 1, indexReads: 1 });
		// Junk never entered the cache: the real entry is still there, no read needed.
		expect((await loadDeployment(kv, real, { ttlMs: 10_000, now: 2001 })).kind).toBe("ok");
		expect(counter.reads).toBe(1);
	});

	it("without an index yet (a new installation), caches unknown names one by one", async () => {
		await env.CONFIG.delete("index:deployments");
		const { kv, counter } = countingKv();
		for (let i = 0; i < 20; i++)
			expect((await loadDeployment(kv, "nobody-here", { ttlMs: 10_000, now: i })).kind).toBe(
				"missing",
			);
		expect(counter.reads).toBe(1);
		await updateIndex(env.CONFIG, "restored", true);
	});

	it("reads KV again once the TTL has passed, while concurrent requests keep the cached state", async () => {
		const name = uniqueName("ttl");
		await putSpec(spec(name));
		await putState(name, { status: "running", weight: 10 });
		const { kv, counter } = countingKv();
		const first = await loadDeployment(kv, name, { ttlMs: 5000, now: 0 });
		await putState(name, { status: "aborted", weight: 0 });
		const cached = await loadDeployment(kv, name, { ttlMs: 5000, now: 4999 });
		// After the TTL: one request reads (and waits for its read), the ones arriving meanwhile
		// serve the cached state.
		const views = await Promise.all(
			Array.from({ length: 5 }, () => loadDeployment(kv, name, { ttlMs: 5000, now: 5000 })),
		);
		const statuses = views.map((v) => (v.kind === "ok" ? v.state.status : v.kind));
		expect(first.kind === "ok" && first.state.status).toBe("running");
		expect(cached.kind === "ok" && cached.state.status).toBe("running");
		expect(statuses.filter((s) => s === "aborted")).toHaveLength(1);
		expect(statuses.filter((s) => s === "running")).toHaveLength(4);
		expect(counter.reads).toBe(2);
	});

	it("reports the issues of a bad value while keeping the last good one", async () => {
		const name = uniqueName("issues");
		await putSpec(spec(name));
		const { kv } = countingKv();
		await loadDeployment(kv, name, { ttlMs: 0, now: 0 });
		await env.CONFIG.put(`deployment:${name}`, JSON.stringify({ ...spec(name), timeoutMs: -5 }));
		const view = await loadDeployment(kv, name, { ttlMs: 0, now: 1 });
		expect(view.kind).toBe("ok");
		if (view.kind === "ok") {
			expect(view.spec.timeoutMs).toBe(3000);
			expect(view.specIssues?.[0]?.path).toBe("timeoutMs");
		}
	});

	it("never goes back to a lower revision than the one it serves (a stale KV copy)", async () => {
		const name = uniqueName("monotonic");
		await putSpec(spec(name));
		await putState(name, { status: "aborted", weight: 0, revision: 2 });
		const { kv } = countingKv();
		await loadDeployment(kv, name, { ttlMs: 0, now: 0 });
		await putState(name, { status: "running", weight: 50, revision: 1 });
		const stale = await loadDeployment(kv, name, { ttlMs: 0, now: 1 });
		expect(stale.kind === "ok" && stale.state).toMatchObject({ status: "aborted", revision: 2 });
		// A hand edit carries no revision: it is honoured.
		await putState(name, { status: "paused", weight: 10 });
		const edited = await loadDeployment(kv, name, { ttlMs: 0, now: 2 });
		expect(edited.kind === "ok" && edited.state).toMatchObject({ status: "paused", weight: 10 });
	});

	it("serves a cold isolate from the deployment object's last valid spec when KV's is invalid", async () => {
		const name = uniqueName("rescue");
		await env.CONFIG.put(`deployment:${name}`, JSON.stringify({ ...spec(name), timeoutMs: -5 }));
		await updateIndex(env.CONFIG, name, true);
		const good = DeploymentSpec.parse(spec(name));
		let calls = 0;
		const rescue = async () => {
			calls++;
			return {
				spec: good,
				state: {
					status: "running" as const,
					weight: 20,
					step: 0,
					reason: "",
					updatedBy: "controller" as const,
					revision: 3,
				},
			};
		};
		const { kv } = countingKv();
		const first = await loadDeployment(kv, name, { ttlMs: 10_000, now: 0, rescue });
		expect(first).toMatchObject({ kind: "ok", rescued: true, state: { weight: 20 } });
		expect(first.kind === "ok" && first.specIssues?.[0]?.path).toBe("timeoutMs");
		for (let t = 1; t < 10_000; t += 500)
			await loadDeployment(kv, name, { ttlMs: 10_000, now: t, rescue });
		// One object call per isolate per TTL, only in this failure mode.
		expect(calls).toBe(1);
		expect((await loadDeployment(kv, name, { ttlMs: 0, now: 0 })).kind).toBe("ok");
		clearConfigCache();
		expect((await loadDeployment(kv, name, { ttlMs: 0, now: 0 })).kind).toBe("unavailable");
	});

	it("changes its generation when what it serves changes, and only then", async () => {
		const name = uniqueName("generation");
		await putSpec(spec(name));
		await putState(name, { status: "running", weight: 10, revision: 1 });
		const { kv } = countingKv();
		const a = await loadDeployment(kv, name, { ttlMs: 0, now: 0 });
		const b = await loadDeployment(kv, name, { ttlMs: 0, now: 1 });
		await putState(name, { status: "aborted", weight: 0, revision: 2 });
		const c = await loadDeployment(kv, name, { ttlMs: 0, now: 2 });
		const generation = (v: typeof a) => (v.kind === "ok" ? v.generation : -1);
		expect(generation(a)).toBe(generation(b));
		expect(generation(c)).not.toBe(generation(a));
	});
});
