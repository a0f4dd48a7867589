/** Minute ranges over the per-minute tables. */
export const MINUTE_MS = 60_000;

/** Minutes overlapping [fromMs, toMs): a minute row m covers [m·60 s, (m + 1)·60 s). */
export function minuteRange(fromMs: number, toMs: number): [number, number] {
	return [Math.floor(fromMs / MINUTE_MS), Math.ceil(toMs / MINUTE_MS)];
}
