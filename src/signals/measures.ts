/**
 * Reading the registry's measures out of one variant's aggregate: every
 * measure with a value, nested by its dot path ("latency.p95" →
 * `{ latency: { p95 } }`), and back. Used by the metrics export, the
 * report's per-variant summaries and the dashboard. Pure.
 */
import { MEASURES } from "./registry";
import type { Measure, MeasuredRow } from "./types";

/** A measure's value, or a group of them ("latency": { "p95": … }). */
export type MeasureValue = number | { [key: string]: MeasureValue };

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

/** A measure's value by its path ("latency.p95") in nested values, when present. */
export function measureAt(
	values: Record<string, MeasureValue | string>,
	path: string,
): number | undefined {
	const [first, ...rest] = path.split(".");
	let node: MeasureValue | string | undefined = values[first ?? ""];
	for (const part of rest) {
		if (typeof node !== "object") return undefined;
		node = node[part];
	}
	return typeof node === "number" ? node : undefined;
}
