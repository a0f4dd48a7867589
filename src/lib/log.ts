/**
 * The one logger: one JSON line per event in the Workers logs, so they can
 * be filtered by field, e.g.
 * `{"level":"error","event":"backend_failed","deployment":"sentiment","variant":"candidate",…}`.
 * Every event about a deployment names it in `deployment`. Nothing else in
 * src/ writes to the console (test/unit/log-unit.test.ts keeps it so).
 *
 * @example
 * logError("retention_failed", { deployment: name, message: String(error) });
 */

export type LogLevel = "info" | "warn" | "error";

/** An event's fields; `deployment` names the deployment the event is about, when it is about one. */
export interface LogFields {
	deployment?: string;
	[field: string]: unknown;
}

/** A thrown value in a field is logged as its text (an Error serialises as {} otherwise). */
const errorsAsText = (_key: string, value: unknown) =>
	value instanceof Error ? String(value) : value;

export function log(level: LogLevel, event: string, fields: LogFields = {}): void {
	const line = JSON.stringify({ level, event, ...fields }, errorsAsText);
	if (level === "error") console.error(line);
	else if (level === "warn") console.warn(line);
	else console.log(line);
}

export function logInfo(event: string, fields?: LogFields): void {
	log("info", event, fields);
}

export function logWarn(event: string, fields?: LogFields): void {
	log("warn", event, fields);
}

export function logError(event: string, fields?: LogFields): void {
	log("error", event, fields);
}
