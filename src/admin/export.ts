/**
 * Metric rows for charts and export: one row per minute and variant, as JSON
 * objects or CSV, with every measure of the signal registry (signals/): a
 * signal's measures appear here without any change to this file. Pure.
 */
import type { MinuteSeriesRow } from "../deployment/metrics-tables";
import type { ObservedVariant } from "../metrics/observation";
import { MEASURES } from "../signals/registry";
import type { Measure } from "../signals/types";

/** A measure's value, or a group of them ("latency": { "p95": … }). */
export type MeasureValue = number | { [key: string]: MeasureValue };

/**
 * One minute of one variant: its ISO minute, the variant, and every measure
 * that has a value, nested by its path ("latency.p95" → `latency.p95`).
 * Measures without a value (answer metrics of answers never watched, shadow
 * agreement on served traffic) are left out.
 */
export interface MetricsRow {
	minute: string;
	variant: ObservedVariant;
	[measure: string]: MeasureValue | string;
}

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

/** The measures of one row, nested by path. */
export function measuresOf(
	row: Pick<MinuteSeriesRow, "variant" | "aggregate" | "feedback">,
	measures: readonly Measure[] = MEASURES,
): Record<string, MeasureValue> {
	const values: Record<string, MeasureValue> = {};
	for (const measure of measures) {
		const value = measure.read(row);
		if (value !== undefined && Number.isFinite(value)) place(values, measure.path, value);
	}
	return values;
}

/** A measure's value in a row by its path ("latency.p95"), when present. */
export function measureAt(row: MetricsRow, path: string): number | undefined {
	const [first, ...rest] = path.split(".");
	let node: MeasureValue | string | undefined = row[first ?? ""];
	for (const part of rest) {
		if (typeof node !== "object") return undefined;
		node = node[part];
	}
	return typeof node === "number" ? node : undefined;
}

export function metricsRows(series: readonly MinuteSeriesRow[]): MetricsRow[] {
	return series.map((row) => ({
		minute: new Date(row.minute * 60_000).toISOString(),
		variant: row.variant,
		...measuresOf(row),
	}));
}

/** The CSV: minute, variant, then one column per measure (empty where it has no value). */
export function toCsv(rows: readonly MetricsRow[]): string {
	const header = ["minute", "variant", ...MEASURES.map((m) => m.csv)].join(",");
	const lines = rows.map((row) =>
		[row.minute, row.variant, ...MEASURES.map((m) => measureAt(row, m.path) ?? "")].join(","),
	);
	return `${[header, ...lines].join("\n")}\n`;
}
