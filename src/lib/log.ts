/** One JSON line per event in the Workers logs, so they can be filtered by field. */
export function logError(event: string, fields: Record<string, unknown>): void {
	console.error(JSON.stringify({ level: "error", event, ...fields }));
}
