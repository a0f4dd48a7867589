/**
 * Metric rows for charts and export: one row per minute and variant, as JSON
 * objects or CSV. Pure.
 */

import type { MinuteSeriesRow } from "../deployment/metrics-tables";
import { errorsOf, type VariantAggregate } from "../metrics/aggregate";
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
	/** Answers that broke after their headers (in errors). */
	streamErrors: number;
	/** 4xx answers and clients gone: never errors. */
	clientFaults: number;
	/** What watched answers showed (streams, LLM answers); absent when none was watched. */
	answers?: {
		ttft?: { mean: number; p50: number; p95: number };
		ttfb?: { mean: number; p95: number };
		duration?: { mean: number; p95: number };
		promptTokens?: number;
		completionTokens?: number;
		tokensPerSecond?: number;
		/** Mean cost per request (the backend's currency). */
		cost?: number;
	};
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
		streamErrors: aggregate.streamErrors,
		clientFaults: aggregate.clientFaults,
		...answersOf(aggregate),
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

function answersOf(aggregate: VariantAggregate): { answers?: MetricsRow["answers"] } {
	const a = aggregate.answers;
	const timed = (m: typeof a.ttft) =>
		m && m.moments.n > 0
			? {
					mean: round(m.moments.mean),
					p50: round(histogramQuantile(m.histogram, 0.5)),
					p95: round(histogramQuantile(m.histogram, 0.95)),
				}
			: undefined;
	const mean = (m: typeof a.cost) => (m && m.moments.n > 0 ? m.moments.mean : undefined);
	const answers = {
		ttft: timed(a.ttft),
		ttfb: timed(a.ttfb),
		duration: timed(a.duration),
		promptTokens: mean(a.promptTokens),
		completionTokens: mean(a.completionTokens),
		tokensPerSecond: mean(a.tokensPerSecond),
		cost: mean(a.cost),
	};
	const present = Object.fromEntries(Object.entries(answers).filter(([, v]) => v !== undefined));
	return Object.keys(present).length > 0 ? { answers: present } : {};
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
	"stream_errors",
	"client_faults",
	"latency_mean_ms",
	"latency_p50_ms",
	"latency_p95_ms",
	"latency_p99_ms",
	"feedback_n",
	"feedback_mean",
	"shadow_compared",
	"shadow_agreed",
	"ttft_p50_ms",
	"ttft_p95_ms",
	"duration_mean_ms",
	"prompt_tokens_mean",
	"completion_tokens_mean",
	"tokens_per_second_mean",
	"cost_mean",
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
			r.streamErrors,
			r.clientFaults,
			r.latency.mean,
			r.latency.p50,
			r.latency.p95,
			r.latency.p99,
			r.feedback.n,
			r.feedback.mean,
			r.shadow?.compared ?? "",
			r.shadow?.agreed ?? "",
			r.answers?.ttft?.p50 ?? "",
			r.answers?.ttft?.p95 ?? "",
			r.answers?.duration?.mean ?? "",
			r.answers?.promptTokens ?? "",
			r.answers?.completionTokens ?? "",
			r.answers?.tokensPerSecond ?? "",
			r.answers?.cost ?? "",
		].join(","),
	);
	return `${[CSV_COLUMNS.join(","), ...lines].join("\n")}\n`;
}
