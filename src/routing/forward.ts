/**
 * Calling a model backend: builds the upstream request (base URL + rest of the
 * path + query, or a service binding), bounds the wait for response headers
 * with a timeout, and classifies the outcome for fallback and metrics. Never
 * throws: a failure is a result.
 *
 * Client faults are never model faults: a 4xx answer (the request was
 * wrong) and a client that went away are `client`; only 5xx, timeouts and
 * network failures count against the variant that produced them.
 */
import type { Backend } from "../config/spec";

export type Outcome = "ok" | "client" | "http_5xx" | "timeout" | "network";

/** True for the outcomes that count against a variant (and trigger fallback and the breaker). */
export function isVariantFault(outcome: Outcome): boolean {
	return outcome === "http_5xx" || outcome === "timeout" || outcome === "network";
}

function outcomeOf(status: number): Outcome {
	return status >= 500 ? "http_5xx" : status >= 400 ? "client" : "ok";
}

export interface BackendResult {
	outcome: Outcome;
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

const CLIMBING = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)|\\|%5c/i;

/**
 * True when the rest of a path has `.` or `..` segments (plain or
 * percent-encoded) or backslashes: appended to a backend's base URL, a URL
 * parser would resolve them and climb out of the base path. Such a path is
 * refused, never forwarded.
 */
export function climbsOut(restPath: string): boolean {
	return CLIMBING.test(restPath);
}

/** Where a request goes: a service binding or the network. */
export interface Upstream {
	url: string;
	fetcher?: Fetcher;
}

/** The upstream for a backend, or an error message when its binding is missing. */
export function resolveUpstream(
	backend: Backend,
	env: object,
	restPath: string,
	search: string,
	origin: string,
): Upstream | { error: string } {
	if (backend.service !== undefined) {
		const binding: unknown = Reflect.get(env, backend.service);
		if (!isFetcher(binding))
			return { error: `service binding ${backend.service} is not configured` };
		return { url: `${origin}${restPath}${search}`, fetcher: binding };
	}
	const base = (backend.url ?? "").replace(/\/+$/, "");
	return { url: `${base}${restPath}${search}` };
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
	/** Aborted when the client goes away: the call stops, and its failure is the client's. */
	clientSignal?: AbortSignal;
}

/**
 * Sends the request with `AbortSignal.timeout(timeoutMs)`: the backend must
 * answer, and its body finish streaming, within the timeout.
 */
export async function callBackend(
	upstream: Upstream,
	init: ForwardInit,
	timeoutMs: number,
	now: () => number = Date.now,
): Promise<BackendResult> {
	const started = now();
	const timeout = AbortSignal.timeout(timeoutMs);
	try {
		const response = await send(upstream, init, withClient(timeout, init.clientSignal));
		return {
			outcome: outcomeOf(response.status),
			response,
			status: response.status,
			latencyMs: now() - started,
		};
	} catch (error) {
		return failure(error, timeout, init.clientSignal, now() - started, 0, timeoutMs);
	}
}

function withClient(timeout: AbortSignal, client: AbortSignal | undefined): AbortSignal {
	return client ? AbortSignal.any([timeout, client]) : timeout;
}

/**
 * Like {@link callBackend}, and reads the body as text of at most `maxBytes`
 * (for comparing shadow outputs) under the same timeout. `latencyMs` is the
 * time to the response headers, comparable with the champion's.
 */
export async function callBackendForText(
	upstream: Upstream,
	init: ForwardInit,
	timeoutMs: number,
	maxBytes: number,
	now: () => number = Date.now,
): Promise<BackendResult & { text?: string; truncated?: boolean }> {
	const started = now();
	const timeout = AbortSignal.timeout(timeoutMs);
	let status = 0;
	let latencyMs = 0;
	try {
		const response = await send(upstream, init, timeout);
		status = response.status;
		latencyMs = now() - started;
		const { text, truncated } = await readText(response, maxBytes);
		return { outcome: outcomeOf(status), status, latencyMs, text, truncated };
	} catch (error) {
		return failure(error, timeout, undefined, latencyMs || now() - started, status, timeoutMs);
	}
}

function send(upstream: Upstream, init: ForwardInit, signal: AbortSignal): Promise<Response> {
	const request = new Request(upstream.url, {
		method: init.method,
		headers: init.headers,
		body: init.body,
		redirect: "manual",
		signal,
	});
	return upstream.fetcher ? upstream.fetcher.fetch(request) : fetch(request);
}

/**
 * The runtime tears a request down when its client goes away; a subrequest in
 * flight then fails with this error (where request.signal is not delivered,
 * as in local workerd), which is the client's doing, not the backend's.
 */
function cancelledByRuntime(error: unknown): boolean {
	return error instanceof Error && /runtime canceled this request/i.test(error.message);
}

function failure(
	error: unknown,
	timeout: AbortSignal,
	client: AbortSignal | undefined,
	latencyMs: number,
	status: number,
	timeoutMs: number,
): BackendResult {
	if (client?.aborted || cancelledByRuntime(error)) {
		return { outcome: "client", status, latencyMs, error: "the client went away" };
	}
	const timedOut = timeout.aborted;
	return {
		outcome: timedOut ? "timeout" : "network",
		status,
		latencyMs: timedOut ? Math.max(latencyMs, timeoutMs) : latencyMs,
		error: timedOut
			? `no complete answer within ${timeoutMs} ms`
			: error instanceof Error
				? error.message
				: String(error),
	};
}

/** Reads up to `maxBytes` of a body as UTF-8 text, cancelling the rest. */
export async function readText(
	response: Response,
	maxBytes: number,
): Promise<{ text: string; truncated: boolean }> {
	if (!response.body) return { text: "", truncated: false };
	const reader = response.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	let truncated = false;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		chunks.push(value);
		size += value.byteLength;
		if (size > maxBytes) {
			truncated = true;
			await reader.cancel();
			break;
		}
	}
	const bytes = new Uint8Array(Math.min(size, maxBytes));
	let offset = 0;
	for (const chunk of chunks) {
		const take = Math.min(chunk.byteLength, bytes.length - offset);
		bytes.set(chunk.subarray(0, take), offset);
		offset += take;
		if (offset >= bytes.length) break;
	}
	return { text: new TextDecoder().decode(bytes), truncated };
}
