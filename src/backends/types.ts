/**
 * The interface every backend kind implements. A kind is declared by one
 * field of the spec's `Backend` (`url`, `service`, `ai`: see
 * config/spec.ts); its adapter turns a backend of that kind into an
 * {@link Upstream} with the worker's bindings and secrets, and the upstream
 * sends a request there. Everything else (the header timeout, classifying
 * outcomes, fallback, metrics) is the same for every kind and lives above
 * the adapters: see registry.ts for how to add a kind. A kind's identity
 * (where it serves from, beside the version label) is declared with its
 * field in config/spec.ts, not here: the schema's own checks need it, and
 * config imports nothing above it.
 */
import type { Backend, BackendKind } from "../config/spec";

export interface BackendAdapter<K extends BackendKind = BackendKind> {
	/** The spec field that declares a backend of this kind. */
	readonly kind: K;
	/** True for a backend this adapter serves (its field is set). */
	matches(backend: Backend): boolean;
	/**
	 * Where a request for `backend` goes, from the worker's bindings and
	 * secrets (`env`) and the request's rest of the path and query; a
	 * {@link ConfigurationError} when a binding or secret it needs is missing.
	 * Reads nothing but `env`; never throws.
	 */
	resolve(backend: Backend, env: object, target: UpstreamTarget): Upstream | ConfigurationError;
	/**
	 * True when this kind's answers are read for token usage even when the
	 * spec does not ask (`tokens: true`): always for Workers AI, for the
	 * others when priced.
	 */
	readsUsage(backend: Backend): boolean;
}

/** A resolved backend: one per call, ready to send. */
export interface Upstream {
	/**
	 * True when the worker sends its own credential: the backend refusing it
	 * (401, 403, 407) is then the backend's fault, not the client's.
	 */
	readonly credentialed: boolean;
	/**
	 * Sends the request. `signal` aborts it (the header timeout: a kind whose
	 * transport takes no signal must still reject when it aborts). Rejects on
	 * a network failure; any answer, 5xx included, resolves.
	 */
	send(init: ForwardInit, signal: AbortSignal): Promise<Response>;
}

/** A binding or secret the backend needs is missing: the message is for operators (logs). */
export interface ConfigurationError {
	error: string;
}

/** The parts of the client's request that say where in a backend it goes. */
export interface UpstreamTarget {
	/** "https://edge.example.com": the URL a service binding is called with starts with it. */
	origin: string;
	/** The raw part of the path after /v1/models/<name>, appended byte for byte. */
	restPath: string;
	/** "?a=1" or "". */
	search: string;
}

/** What is sent: the same for every kind and every attempt (fallback, shadow copy). */
export interface ForwardInit {
	method: string;
	headers: Headers;
	/** The client's body, read in full before any backend is called (so it can be replayed). */
	body: ArrayBuffer | null;
	/** Aborted when the client goes away: a call failing then is the client's fault. */
	clientSignal?: AbortSignal;
}
