/**
 * The backend kinds and the one place that picks an adapter for a backend.
 * Nothing outside src/backends/ asks which kind a backend is: callers
 * resolve an upstream here and send through it ({@link callBackend}).
 *
 * Adding a backend kind:
 *   1. its field on `Backend` in config/spec.ts, with its entry in
 *      `BACKEND_PLACES` (how it names where it serves from);
 *   2. one adapter file here implementing {@link BackendAdapter};
 *   3. its line in {@link ADAPTERS} (the compiler refuses a kind without one);
 *   4. its fixture in test/integration/backends-integration.test.ts, where
 *      every kind passes the same conformance cases.
 */
import type { Backend, BackendKind } from "../config/spec";
import { aiBackend } from "./ai";
import { serviceBackend } from "./service";
import type { BackendAdapter, ConfigurationError, Upstream, UpstreamTarget } from "./types";
import { urlBackend } from "./url";

/** One adapter per kind, by the spec field that declares it. */
export const ADAPTERS = {
	url: urlBackend,
	service: serviceBackend,
	ai: aiBackend,
} satisfies { [K in BackendKind]: BackendAdapter<K> };

const LIST: readonly BackendAdapter[] = Object.values(ADAPTERS);

/** The adapter serving `backend` (the schema lets a backend declare exactly one kind). */
export function adapterOf(backend: Backend): BackendAdapter {
	for (const adapter of LIST) if (adapter.matches(backend)) return adapter;
	throw new Error(`backend ${backend.version} declares no kind`);
}

/** Where a request for `backend` goes, or why it cannot go anywhere (a missing binding or secret). */
export function resolveUpstream(
	backend: Backend,
	env: object,
	target: UpstreamTarget,
): Upstream | ConfigurationError {
	return adapterOf(backend).resolve(backend, env, target);
}

/** True when the backend's answers are read for token usage whatever the spec's `tokens` says. */
export function readsUsage(backend: Backend): boolean {
	return adapterOf(backend).readsUsage(backend);
}
