/**
 * Parsing KV values at the door: JSON, then the zod schema. A bad value is a
 * result with its issues (path + message), never an exception.
 */
import type { z } from "zod";

export interface ConfigIssue {
	path: string;
	message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

export function parseJsonWith<S extends z.ZodType>(schema: S, text: string): Parsed<z.output<S>> {
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (error) {
		return {
			ok: false,
			issues: [{ path: "", message: `invalid JSON: ${(error as Error).message}` }],
		};
	}
	return parseWith(schema, json);
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): Parsed<z.output<S>> {
	const result = schema.safeParse(value);
	if (result.success) return { ok: true, value: result.data };
	return { ok: false, issues: toIssues(result.error) };
}

/** Zod issues as { path: "canary.steps.0", message } pairs. */
export function toIssues(error: z.ZodError): ConfigIssue[] {
	return error.issues.map((issue) => ({
		path: issue.path.map(String).join("."),
		message: issue.message,
	}));
}
