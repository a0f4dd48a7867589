/**
 * Calling a model backend: builds the upstream request (base URL + rest of the
 * path + query, or a service binding), bounds the wait for response headers
 * with a timeout, and classifies the outcome for fallback and metrics. Never
 * throws: a failure is a result.
 *
 * Client faults are never model faults: a 4xx answer (the request was
 * wrong) and a client that went away are `client`; only 5xx, timeouts and
 * network failures count against the variant that produced them, and a
 * backend refusing the credential the worker sends it (`auth`: 401, 403,
 * 407), which no client can cause.
 */
import type { Backend } from "../config/spec";
import { type AiRunner, isAiRunner, runAi } from "../llm/workers-ai";

/** `stream`: the body broke after the headers. */
export type Outcome = "ok" | "client" | "http_5xx" | "timeout" | "network" | "stream";

/** True for the outcomes that count against a variant (and trigger fallback and the breaker). */
export function isVariantFault(outcome: Outcome): boolean {
	return (
		outcome === "http_5xx" || outcome === "timeout" || outcome === "network" || outcome === "stream"
	);
}

/** Refusals of a credential: the worker's own when the backend has `auth`. */
const CREDENTIAL_REFUSED = new Set([401, 403, 407]);

function outcomeOf(status: number, credentialed: boolean): Outcome {
	if (status >= 500 || (credentialed && CREDENTIAL_REFUSED.has(status))) return "http_5xx";
	return status >= 400 ? "client" : "ok";
}

export interface BackendResult {
	outcome: Outcome;
	/** When the call started (Unix ms): the body's timings count from here. */
	startedAt: number;
	/** The response, when one arrived (also for 5xx). */
	response?: Response;
	/** HTTP status, 0 when none arrived. */
	status: number;
	/** Milliseconds until the response headers (or the failure). */
	latencyMs: number;
	error?: string;
}

/** The parts of an incoming URL the proxy needs, found without a full URL parse (hot path). */
export interface RequestTarget {
	/** "https://edge.example.com" */
	origin: string;
	/** The raw (still percent-encoded) path. */
	path: string;
	/** "?a=1" or "". */
	search: string;
	secure: boolean;
}

export function requestTarget(rawUrl: string): RequestTarget {
	const pathStart = rawUrl.indexOf("/", rawUrl.indexOf("//") + 2);
	const origin = pathStart < 0 ? rawUrl : rawUrl.slice(0, pathStart);
	const rest = pathStart < 0 ? "/" : rawUrl.slice(pathStart);
	const hash = rest.indexOf("#");
	const withoutHash = hash < 0 ? rest : rest.slice(0, hash);
	const query = withoutHash.indexOf("?");
	return {
		origin,
		path: query < 0 ? withoutHash : withoutHash.slice(0, query),
		search: query < 0 ? "" : withoutHash.slice(query),
		secure: rawUrl.startsWith("https:"),
	};
}

const CLIMBING = /(?:^|\/|%2f)(?:\.|%2e){1,2}(?:;[^/]*)?(?:\/|%2f|$)|\\|%5c/i;

/**
 * True when the rest of a path has `.` or `..` segments (plain or
 * percent-encoded, between plain or encoded slashes, since some backends
 * decode `%2F`; or with a `;parameter` as some servers read `..;`) or
 * backslashes: appended to a backend's base URL, a URL
 * parser would resolve them and climb out of the base path. Such a path is
 * refused, never forwarded.
 */
export function climbsOut(restPath: string): boolean {
	return CLIMBING.test(restPath);
}

/** Where a request goes: a service binding, the network, or a Workers AI model. */
export interface Upstream {
	url: string;
	fetcher?: Fetcher;
	/** A header the backend's credential goes in, and its value. */
	auth?: { header: string; value: string };
	ai?: { runner: AiRunner; model: string; gateway?: string };
}

/** The upstream for a backend, or an error message when its binding is missing. */
export function resolveUpstream(
	backend: Backend,
	env: object,
	restPath: string,
	search: string,
	origin: string,
): Upstream | { error: string } {
	if (backend.ai !== undefined) {
		const runner: unknown = Reflect.get(env, "AI");
		if (!isAiRunner(runner)) return { error: "the AI binding is not configured" };
		return { url: `${origin}${restPath}${search}`, ai: { runner, ...backend.ai } };
	}
	let auth: Upstream["auth"];
	if (backend.auth !== undefined) {
		const secret: unknown = Reflect.get(env, backend.auth.secret);
		if (typeof secret !== "string" || secret === "")
			return { error: `secret ${backend.auth.secret} is not configured` };
		const scheme = backend.auth.scheme ?? (backend.auth.header === "authorization" ? "Bearer" : "");
		auth = { header: backend.auth.header, value: scheme ? `${scheme} ${secret}` : secret };
	}
	if (backend.service !== undefined) {
		const binding: unknown = Reflect.get(env, backend.service);
		if (!isFetcher(binding))
			return { error: `service binding ${backend.service} is not configured` };
		return { url: `${origin}${restPath}${search}`, fetcher: binding, ...(auth ? { auth } : {}) };
	}
	const base = (backend.url ?? "").replace(/\/+$/, "");
	return { url: `${base}${restPath}${search}`, ...(auth ? { auth } : {}) };
}

function isFetcher(value: unknown): value is Fetcher {
	return (
		typeof value === "object" && value !== null && typeof Reflect.get(value, "fetch") === "function"
	);
}

export interface ForwardInit {
	method: string;
	headers: Headers;
	/** The client's body, read in full before any backend is called (so it can be replayed). */
	body: ArrayBuffer | null;
	/** Aborted when the client goes away: a call failing then is the client's fault. */
	clientSignal?: AbortSignal;
}

/**
 * Sends the request; the backend must answer with its headers within
 * `timeoutMs`. The timeout stops there: the body is bounded by the body
 * monitor's idle and total limits, so a long stream is never cut by it.
 */
export async function callBackend(
	upstream: Upstream,
	init: ForwardInit,
	timeoutMs: number,
	now: () => number = Date.now,
): Promise<BackendResult> {
	const startedAt = now();
	const headers = new AbortController();
	const timer = setTimeout(() => headers.abort(), timeoutMs);
	try {
		// Only the timeout aborts the call: when the client goes away, the runtime cancels the
		// request's subrequests itself (the failure is then told apart by the client's signal).
		const response = await send(upstream, init, headers.signal);
		return {
			outcome: outcomeOf(response.status, upstream.auth !== undefined),
			startedAt,
			response,
			status: response.status,
			latencyMs: now() - startedAt,
		};
	} catch (error) {
		return failure(
			error,
			headers.signal,
			init.clientSignal,
			startedAt,
			now() - startedAt,
			timeoutMs,
		);
	} finally {
		clearTimeout(timer);
	}
}

/** Rejects when the signal aborts (a call that ignores its signal, like the AI binding's, still times out). */
function rejectOnAbort(signal: AbortSignal): Promise<never> {
	return new Promise((_, reject) => {
		if (signal.aborted) reject(signal.reason);
		else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
	});
}

/** True for an event stream (its events are read: TTFT, text, usage). */
export function isEventStream(response: Response): boolean {
	return (response.headers.get("content-type") ?? "").includes("text/event-stream");
}

/**
 * True for an answer that streams by nature (event streams, JSON lines): the
 * ones whose timing, mid-way failures and limits matter. A plain JSON answer
 * is not, whatever its transfer (service bindings declare no length).
 */
export function isStreaming(response: Response): boolean {
	const type = response.headers.get("content-type");
	return (
		type !== null &&
		(type.includes("event-stream") || type.includes("ndjson") || type.includes("jsonl"))
	);
}

function send(upstream: Upstream, init: ForwardInit, signal: AbortSignal): Promise<Response> {
	// The AI binding takes no signal: race it, so it still times out.
	if (upstream.ai)
		return Promise.race([runAi(upstream.ai.runner, upstream.ai, init.body), rejectOnAbort(signal)]);
	let headers = init.headers;
	if (upstream.auth) {
		// The client's value of that header never reaches this backend: the edge's does.
		headers = new Headers(init.headers);
		headers.set(upstream.auth.header, upstream.auth.value);
	}
	const request: RequestInit = {
		method: init.method,
		headers,
		body: init.body,
		redirect: "manual",
		signal,
	};
	return upstream.fetcher
		? upstream.fetcher.fetch(upstream.url, request)
		: fetch(upstream.url, request);
}

/**
 * The runtime tears a request down when its client goes away; a subrequest in
 * flight then fails with this error (where request.signal is not delivered,
 * as in local workerd), which is the client's doing, not the backend's.
 */
function cancelledByRuntime(error: unknown): boolean {
	return error instanceof Error && /runtime canceled this request/i.test(error.message);
}

/** A failure that is the client's doing: it went away (its signal, or the runtime's cancel). */
export function clientWentAway(client: AbortSignal | undefined, error: unknown): boolean {
	return client?.aborted === true || cancelledByRuntime(error);
}

function failure(
	error: unknown,
	timeout: AbortSignal,
	client: AbortSignal | undefined,
	startedAt: number,
	latencyMs: number,
	timeoutMs: number,
): BackendResult {
	if (clientWentAway(client, error)) {
		return { outcome: "client", startedAt, status: 0, latencyMs, error: "the client went away" };
	}
	const timedOut = timeout.aborted;
	return {
		outcome: timedOut ? "timeout" : "network",
		startedAt,
		status: 0,
		latencyMs: timedOut ? Math.max(latencyMs, timeoutMs) : latencyMs,
		error: timedOut
			? `no complete answer within ${timeoutMs} ms`
			: error instanceof Error
				? error.message
				: String(error),
	};
}
