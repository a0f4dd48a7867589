/**
 * The router with its bindings instrumented, for counting platform operations
 * per prediction (KV requests and keys read, Durable Object requests). Used
 * only by `npm run bench`'s counting phase; throughput is measured on the
 * plain `wrangler deploy` bundle.
 */
import worker, { DeploymentObject, IngestShard } from "../../src/index";
import { recorderIdle } from "../../src/metrics/recorder";

export { DeploymentObject, IngestShard };

const counters = {
	predictions: 0,
	kvRequests: 0,
	kvKeysRead: 0,
	kvWrites: 0,
	kvLists: 0,
	doRequests: 0,
	/** Of which to ingest shards (metric and feedback flushes). */
	ingestRequests: 0,
};
const wrapped = new WeakMap<object, Env>();

function countingKv(kv: KVNamespace): KVNamespace {
	return new Proxy(kv, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (typeof value !== "function") return value;
			return (...args: unknown[]) => {
				if (property === "get" || property === "getWithMetadata") {
					counters.kvRequests += 1;
					counters.kvKeysRead += Array.isArray(args[0]) ? args[0].length : 1;
				} else if (property === "put" || property === "delete") counters.kvWrites += 1;
				else if (property === "list") counters.kvLists += 1;
				return Reflect.apply(value, target, args);
			};
		},
	});
}

function countingStub<T extends object>(stub: T, ingest: boolean): T {
	return new Proxy(stub, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (typeof value !== "function" || typeof property === "symbol") return value;
			return (...args: unknown[]) => {
				counters.doRequests += 1;
				if (ingest) counters.ingestRequests += 1;
				return Reflect.apply(value, target, args);
			};
		},
	});
}

/** A namespace whose stubs count every RPC call. */
function countingNamespace<N extends { getByName(name: string): object }>(
	ns: N,
	ingest: boolean,
): N {
	return new Proxy(ns, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (property === "getByName")
				return (name: string) => countingStub(target.getByName(name), ingest);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

function countingEnv(env: Env): Env {
	let counted = wrapped.get(env);
	if (!counted) {
		counted = {
			...env,
			CONFIG: countingKv(env.CONFIG),
			DEPLOYMENT: countingNamespace(env.DEPLOYMENT, false),
			INGEST: countingNamespace(env.INGEST, true),
		};
		wrapped.set(env, counted);
	}
	return counted;
}

export default {
	async fetch(request, env, ctx) {
		const url = new URL(request.url);
		if (url.pathname === "/__bench/counters") {
			// idle: every observation recorded so far has been flushed (the bench waits for it).
			const snapshot = { ...counters, idle: recorderIdle() };
			if (url.searchParams.has("reset"))
				for (const key of Object.keys(counters) as (keyof typeof counters)[]) counters[key] = 0;
			return Response.json(snapshot);
		}
		if (url.pathname.startsWith("/v1/models/")) counters.predictions += 1;
		return worker.fetch(request, countingEnv(env), ctx);
	},
	scheduled: (controller, env, ctx) => worker.scheduled(controller, countingEnv(env), ctx),
} satisfies ExportedHandler<Env>;
