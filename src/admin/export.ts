/**
 * Metric rows for charts and export: one row per minute and variant, as JSON
 * objects or CSV. Pure.
 */

import type { MinuteSeriesRow } from "../deployment/metrics-tables";
import { errorsOf } from "../metrics/aggregate";
import { histogramQuantile } from "../metrics/histogram";

export interface MetricsRow {
	minute: string;
	variant: "champion" | "candidate" | "shadow";
	requests: number;
	errors: number;
	errors5xx: number;
	timeouts: number;
	networkErrors: number;
	fallbacks: number;
	/** Candidate units an isolate's breaker sent to the champion. */
	diverted: number;
	latency: { mean: number; p50: number; p95: number; p99: number };
	feedback: { n: number; mean: number };
	shadow?: { compared: number; agreed: number; uncomparable: number };
}

export function metricsRows(series: readonly MinuteSeriesRow[]): MetricsRow[] {
	return series.map(({ minute, variant, aggregate, feedback }) => ({
		minute: new Date(minute * 60_000).toISOString(),
		variant,
		requests: aggregate.requests,
		errors: errorsOf(aggregate),
		errors5xx: aggregate.errors5xx,
		timeouts: aggregate.timeouts,
		networkErrors: aggregate.networkErrors,
		fallbacks: aggregate.fallbacks,
		diverted: aggregate.diverted,
		latency: {
			mean: round(aggregate.latency.mean),
			p50: round(histogramQuantile(aggregate.histogram, 0.5)),
			p95: round(histogramQuantile(aggregate.histogram, 0.95)),
			p99: round(histogramQuantile(aggregate.histogram, 0.99)),
		},
		feedback: { n: feedback.n, mean: feedback.mean },
		...(variant === "shadow"
			? {
					shadow: {
						compared: aggregate.compared,
						agreed: aggregate.agreed,
						uncomparable: aggregate.uncomparable,
					},
				}
			: {}),
	}));
}

function round(x: number): number {
	return Math.round(x * 1000) / 1000;
}

const CSV_COLUMNS = [
	"minute",
	"variant",
	"requests",
	"errors",
	"errors_5xx",
	"timeouts",
	"network_errors",
	"fallbacks",
	"diverted",
	"latency_mean_ms",
	"latency_p50_ms",
	"latency_p95_ms",
	"latency_p99_ms",
	"feedback_n",
	"feedback_mean",
	"shadow_compared",
	"shadow_agreed",
] as const;

export function toCsv(rows: readonly MetricsRow[]): string {
	const lines = rows.map((r) =>
		[
			r.minute,
			r.variant,
			r.requests,
			r.errors,
			r.errors5xx,
			r.timeouts,
			r.networkErrors,
			r.fallbacks,
			r.diverted,
			r.latency.mean,
			r.latency.p50,
			r.latency.p95,
			r.latency.p99,
			r.feedback.n,
			r.feedback.mean,
			r.shadow?.compared ?? "",
			r.shadow?.agreed ?? "",
		].join(","),
	);
	return `${[CSV_COLUMNS.join(","), ...lines].join("\n")}\n`;
}
