/**
 * Calling a backend, whatever its kind: the backend must answer with its
 * headers within a timeout, and the outcome is classified for fallback and
 * metrics (outcome.ts). Never throws: a failure is a result.
 */
import { type BackendResult, clientWentAway, outcomeOf } from "./outcome";
import type { ForwardInit, Upstream } from "./types";

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
		const response = await upstream.send(init, headers.signal);
		return {
			outcome: outcomeOf(response.status, upstream.credentialed),
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

/** The result of a call that could not be made: a binding or secret is missing. */
export function unresolved(error: string): BackendResult {
	return { outcome: "network", startedAt: Date.now(), status: 0, latencyMs: 0, error };
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
