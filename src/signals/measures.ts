/**
 * Reading the registry's measures out of one variant's aggregate: every
 * measure with a value, nested by its dot path ("latency.p95" →
 * `{ latency: { p95 } }`), and back. Used by the metrics export, the
 * report's per-variant summaries and the dashboard. Pure.
 */
import type { MeasureValue } from "./measure-value";
import { MEASURES } from "./registry";

export { type MeasureValue, measureAt } from "./measure-value";

import type { Measure, MeasuredRow } from "./types";

/** Sets `value` at a dot path in `target`, creating the groups on the way. */
function place(target: Record<string, MeasureValue>, path: string, value: number): void {
	const parts = path.split(".");
	let node = target;
	for (const part of parts.slice(0, -1)) {
		const next = node[part];
		if (typeof next === "object") node = next;
		else {
			const group: Record<string, MeasureValue> = {};
			node[part] = group;
			node = group;
		}
	}
	node[parts[parts.length - 1] as string] = value;
}

/** The measures of one row that have a value, nested by path. */
export function measuresOf(
	row: MeasuredRow,
	measures: readonly Measure[] = MEASURES,
): Record<string, MeasureValue> {
	const values: Record<string, MeasureValue> = {};
	for (const measure of measures) {
		const value = measure.read(row);
		if (value !== undefined && Number.isFinite(value)) place(values, measure.path, value);
	}
	return values;
}
