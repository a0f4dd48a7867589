/**
 * Metric rows for charts and export: one row per minute and variant, as JSON
 * objects or CSV, with every measure of the signal registry (signals/): a
 * signal's measures appear here without any change to this file. Pure.
 */
import type { MinuteSeriesRow } from "../deployment/metrics-tables";
import type { ObservedVariant } from "../metrics/observation";
import { type MeasureValue, measureAt, measuresOf } from "../signals/measures";
import { MEASURES } from "../signals/registry";

export { type MeasureValue, measureAt, measuresOf };

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
