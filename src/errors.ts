/**
 * One error envelope for every route:
 *   { "error": { "code": "deployment_not_found", "message": "...", "requestId": "...", "details"?: ... } }
 * Routes throw {@link HttpError}; `onError` maps it, hono's HTTPException
 * (e.g. from bearer-auth), ZodError and anything unexpected to the envelope.
 * Every error names its request (the `x-request-id` header too): a
 * prediction's signed id, or a fresh one. Internals (backend or KV error
 * text) go to the logs with that id, never into a public body.
 */
import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";
import { toIssues } from "./config/parse";

export class HttpError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly code: string,
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

const STATUS_CODES: Record<number, string> = {
	400: "bad_request",
	401: "unauthorized",
	403: "forbidden",
	404: "not_found",
	405: "method_not_allowed",
	413: "payload_too_large",
};

export const onError: ErrorHandler = (error) => {
	if (error instanceof HttpError) return error.toResponse();
	if (error instanceof ZodError) {
		return errorResponse(
			400,
			"invalid_request",
			"the request does not match the schema",
			toIssues(error),
		);
	}
	if (error instanceof HTTPException) {
		const headers = Object.fromEntries(error.getResponse().headers);
		delete headers["content-type"];
		const code = STATUS_CODES[error.status] ?? "http_error";
		return errorResponse(
			error.status,
			code,
			error.message || code.replace(/_/g, " "),
			undefined,
			headers,
		);
	}
	const requestId = crypto.randomUUID();
	console.error(
		JSON.stringify({ level: "error", event: "unhandled_error", requestId, message: String(error) }),
	);
	return errorResponse(500, "internal_error", "something went wrong at the edge", undefined, {
		"x-request-id": requestId,
	});
};
