/**
 * Validation at the admin API's door, with @hono/zod-validator: one hook
 * turns a schema failure into the envelope (`invalid_request`, or the code
 * a route names, with every issue and its path), so handlers receive typed
 * values and hono's typed client sees the same types.
 *
 * @example
 * .put("/:name/weight", body(WeightBody), (c) => c.json(c.req.valid("json")))
 */
import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler } from "hono";
import { ZodError, type ZodType } from "zod";
import { type ConfigIssue, toIssues } from "../config/parse";
import { type ErrorCode, fail } from "../errors";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Reads a request body as JSON, once, for the validators after it: an empty
 * body is `{}`; a body that is not declared JSON is 415
 * `unsupported_media_type`; JSON that does not parse is 400 `invalid_json`.
 */
export const jsonBodies: MiddlewareHandler = async (c, next) => {
	if (c.req.method === "GET" || c.req.method === "HEAD") return next();
	const text = await c.req.text();
	if (text.trim() === "") {
		// Hono keeps each body read as a promise in bodyCache (typed as the value) and its
		// validators parse JSON from the cached text: an empty body then reads as {}.
		Reflect.set(c.req.bodyCache, "text", Promise.resolve("{}"));
		return next();
	}
	const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
	if (!JSON_TYPE.test(type))
		throw fail(
			"unsupported_media_type",
			"send the body as JSON, with content-type: application/json",
		);
	try {
		JSON.parse(text);
	} catch {
		throw fail("invalid_json", "the body is not valid JSON");
	}
	return next();
};

/** Issues as { path, message } from a zod error (the validator's result, typed loosely). */
function issuesOf(error: unknown): ConfigIssue[] {
	return error instanceof ZodError ? toIssues(error) : [];
}

function hook(code: ErrorCode, what: string) {
	return (result: { success: boolean; error?: unknown }) => {
		if (!result.success)
			throw fail(code, `${what} does not match the schema`, issuesOf(result.error));
	};
}

/** The JSON body, validated (after {@link jsonBodies}). */
export function body<S extends ZodType>(
	schema: S,
	code: "invalid_request" | "invalid_spec" = "invalid_request",
) {
	return zValidator("json", schema, hook(code, code === "invalid_spec" ? "the spec" : "the body"));
}

/** The query string, validated. */
export function query<S extends ZodType>(schema: S) {
	return zValidator("query", schema, hook("invalid_request", "the query"));
}

/** Path parameters, validated; a failure is the route's "not found" code and message. */
export function params<S extends ZodType>(
	schema: S,
	code: "deployment_not_found" | "not_found",
	message: (raw: Record<string, string>) => string,
) {
	return zValidator(
		"param",
		schema,
		(result: { success: boolean; error?: unknown; data: unknown }) => {
			if (!result.success)
				throw fail(code, message(result.data as Record<string, string>), issuesOf(result.error));
		},
	);
}
