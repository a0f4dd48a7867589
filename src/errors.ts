/**
 * One error envelope for every route:
 *   { "error": { "code": "deployment_not_found", "message": "...", "requestId": "...", "details"?: ... } }
 * Every code has exactly one HTTP status, in {@link ERROR_STATUS}. Routes
 * throw {@link HttpError} (or {@link fail}, which looks the status up);
 * `onError` maps it, hono's HTTPException (e.g. from bearer-auth), ZodError
 * and anything unexpected to the envelope. Every error names its request
 * (the `x-request-id` header too): a prediction's signed id, or a fresh one.
 * Internals (backend or KV error text) go to the logs with that id, never
 * into a public body.
 *
 * @example
 * throw fail("deployment_not_found", `no deployment named "${name}"`);
 */
import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";
import { toIssues } from "./config/parse";
import { logError } from "./lib/log";

/**
 * Every error code the worker answers with, and its one status. Add a code
 * here before throwing it: the compiler refuses a code that is not listed,
 * or a status that differs from the one listed.
 */
export const ERROR_STATUS = {
	/** The body is not JSON. */
	invalid_json: 400,
	/** A body, query or path parameter does not match its schema (details: the issues). */
	invalid_request: 400,
	/** A deployment spec does not match the schema (details: the issues). */
	invalid_spec: 400,
	/** The spec's name differs from the path's. */
	name_mismatch: 400,
	/** Feedback for a request id this edge did not issue, or a malformed one. */
	invalid_request_id: 400,
	/** Feedback whose value does not fit the deployment's feedback kind. */
	invalid_value: 400,
	/** A prediction path with `.`/`..` segments or backslashes (it would climb out of the backend's base). */
	invalid_path: 400,
	/** The client went away (or its upload broke) before it was answered. */
	request_aborted: 400,
	unauthorized: 401,
	forbidden: 403,
	/** No route for this method and path. */
	not_found: 404,
	deployment_not_found: 404,
	method_not_allowed: 405,
	/** The action does not apply to the rollout's status (details: the state). */
	invalid_transition: 409,
	/** The rollout's revision differs from the one the caller expected. */
	revision_conflict: 409,
	/** The action needs a valid spec and none is known. */
	spec_required: 409,
	/** A salt or hash-version change on a live deployment, without ?rebucket=true. */
	rebucket_refused: 409,
	/** A new backend or version for a variant of a rollout in progress, without ?force=true. */
	backend_change_refused: 409,
	/** Feedback for a request older than FEEDBACK_WINDOW_DAYS. */
	request_id_expired: 410,
	/** Feedback for a request that got an error, not an answer. */
	request_failed: 422,
	payload_too_large: 413,
	/** A body that is not sent as JSON. */
	unsupported_media_type: 415,
	/** Public feedback from one client address, too fast. */
	rate_limited: 429,
	internal_error: 500,
	/** The backend failed (network, refused) and nobody could answer instead. */
	backend_unavailable: 502,
	/** The spec in KV is invalid and no valid one is known. */
	deployment_unavailable: 503,
	/** The deployment's feedback de-duplication set is full (FEEDBACK_SEEN_LIMIT). */
	feedback_capacity: 503,
	backend_timeout: 504,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus<C extends ErrorCode = ErrorCode> = (typeof ERROR_STATUS)[C];

export class HttpError<C extends ErrorCode = ErrorCode> extends Error {
	constructor(
		/** Must be the code's status in {@link ERROR_STATUS} (checked by the compiler). */
		readonly status: ErrorStatus<C>,
		readonly code: C,
		message: string,
		readonly details?: unknown,
		readonly headers?: Record<string, string>,
	) {
		super(message);
		this.name = "HttpError";
	}

	toResponse(): Response {
		return errorResponse(this.status, this.code, this.message, this.details, this.headers);
	}
}

/** An HttpError with the code's one status. */
export function fail<C extends ErrorCode>(
	code: C,
	message: string,
	details?: unknown,
	headers?: Record<string, string>,
): HttpError<C> {
	return new HttpError(ERROR_STATUS[code], code, message, details, headers);
}

/** The envelope as a Response (for code paths that answer rather than throw). */
export function errorResponse(
	status: number,
	code: string,
	message: string,
	details?: unknown,
	headers?: Record<string, string>,
): Response {
	const requestId = headers?.["x-request-id"] ?? crypto.randomUUID();
	const error =
		details === undefined ? { code, message, requestId } : { code, message, requestId, details };
	return Response.json({ error }, { status, headers: { ...headers, "x-request-id": requestId } });
}

/** The code for a status that hono raised itself (bearer-auth, a malformed body). */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
	400: "invalid_request",
	401: "unauthorized",
	403: "forbidden",
	404: "not_found",
	405: "method_not_allowed",
	413: "payload_too_large",
	415: "unsupported_media_type",
};

export const onError: ErrorHandler = (error) => {
	if (error instanceof HttpError) return error.toResponse();
	if (error instanceof ZodError) {
		return errorResponse(
			ERROR_STATUS.invalid_request,
			"invalid_request",
			"the request does not match the schema",
			toIssues(error),
		);
	}
	if (error instanceof HTTPException) {
		const headers = Object.fromEntries(error.getResponse().headers);
		delete headers["content-type"];
		const code = CODE_OF_STATUS[error.status] ?? "http_error";
		return errorResponse(
			error.status,
			code,
			error.message || code.replace(/_/g, " "),
			undefined,
			headers,
		);
	}
	const requestId = crypto.randomUUID();
	logError("unhandled_error", { requestId, message: String(error) });
	return errorResponse(500, "internal_error", "something went wrong at the edge", undefined, {
		"x-request-id": requestId,
	});
};
