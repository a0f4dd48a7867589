/**
 * Calling a model backend: builds the upstream request (base URL + rest of the
 * path + query, or a service binding), bounds the wait for response headers
 * with a timeout, and classifies the outcome for fallback and metrics. Never
 * throws: a failure is a result.
 */
import type { Backend } from "../config/spec";

export type Outcome = "ok" | "http_5xx" | "timeout" | "network";

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
	/** A replayable buffer, a one-shot stream, or nothing. */
	body: ArrayBuffer | ReadableStream | null;
}

/**
 * Sends the request. `timeoutMs` bounds the wait for the response headers;
 * the body then streams to the client unhurried. The deadline is a race, not
 * only an abort signal, so a backend that ignores cancellation still times out.
 */
export async function callBackend(
	upstream: Upstream,
	init: ForwardInit,
	timeoutMs: number,
	now: () => number = Date.now,
): Promise<BackendResult> {
	const started = now();
	const controller = new AbortController();
	try {
		const request = new Request(upstream.url, {
			method: init.method,
			headers: init.headers,
			body: init.body,
			redirect: "manual",
			signal: controller.signal,
		});
		const sent = upstream.fetcher ? upstream.fetcher.fetch(request) : fetch(request);
		const response = await withDeadline(sent, timeoutMs, controller);
		return {
			outcome: response.status >= 500 ? "http_5xx" : "ok",
			response,
			status: response.status,
			latencyMs: now() - started,
		};
	} catch (error) {
		return failure(error, now() - started, 0);
	}
}

/**
 * Like {@link callBackend}, but the timeout covers reading the body too, as
 * text of at most `maxBytes` (for comparing shadow outputs). `latencyMs` is
 * still the time to the response headers, comparable with the champion's.
 */
export async function callBackendForText(
	upstream: Upstream,
	init: ForwardInit,
	timeoutMs: number,
	maxBytes: number,
	now: () => number = Date.now,
): Promise<BackendResult & { text?: string; truncated?: boolean }> {
	const started = now();
	const controller = new AbortController();
	let status = 0;
	try {
		const request = new Request(upstream.url, {
			method: init.method,
			headers: init.headers,
			body: init.body,
			redirect: "manual",
			signal: controller.signal,
		});
		let headersAt = started;
		const exchange = (async () => {
			const response = await (upstream.fetcher ? upstream.fetcher.fetch(request) : fetch(request));
			status = response.status;
			headersAt = now();
			return { response, ...(await readText(response, maxBytes)) };
		})();
		const { response, text, truncated } = await withDeadline(exchange, timeoutMs, controller);
		return {
			outcome: response.status >= 500 ? "http_5xx" : "ok",
			status: response.status,
			latencyMs: headersAt - started,
			text,
			truncated,
		};
	} catch (error) {
		return failure(error, now() - started, status);
	}
}

function failure(error: unknown, latencyMs: number, status: number): BackendResult {
	const timedOut = error instanceof TimeoutError;
	return {
		outcome: timedOut ? "timeout" : "network",
		status,
		latencyMs,
		error: error instanceof Error ? error.message : String(error),
	};
}

async function withDeadline<T>(
	promise: Promise<T>,
	ms: number,
	controller: AbortController,
): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			const error = new TimeoutError(ms);
			controller.abort();
			reject(error);
		}, ms);
	});
	try {
		return await Promise.race([promise, deadline]);
	} finally {
		if (timer !== undefined) clearTimeout(timer);
		// A late rejection of the losing promise must not surface as unhandled.
		promise.catch(() => undefined);
	}
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

class TimeoutError extends Error {
	constructor(ms: number) {
		super(`timed out after ${ms} ms`);
		this.name = "TimeoutError";
	}
}
