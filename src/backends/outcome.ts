/**
 * How a backend call ended, and whose fault a failure is. Never a
 * backend-kind question: every adapter's answers are classified here, the
 * same way.
 *
 * Client faults are never model faults: a 4xx answer (the request was
 * wrong) and a client that went away are `client`; only 5xx, timeouts and
 * network failures count against the variant that produced them, and a
 * backend refusing the credential the worker sends it (`auth`: 401, 403,
 * 407), which no client can cause.
 */

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

/** The outcome of an answer's status; `credentialed`: the worker sent its own credential. */
export function outcomeOf(status: number, credentialed: boolean): Outcome {
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
