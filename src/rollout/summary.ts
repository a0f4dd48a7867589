/**
 * Readable numbers for one variant (rates, latency quantiles, feedback mean)
 * from its mergeable aggregate. Pure.
 */
import { errorsOf, exposure, type VariantAggregate } from "../metrics/aggregate";
import { histogramQuantile } from "../metrics/histogram";
import { type MeasureValue, measuresOf } from "../signals/measures";
import { MEASURES } from "../signals/registry";
import { emptyMoments, type Moments } from "../stats";

export interface VariantSummary {
	requests: number;
	errors: number;
	errorRate: number;
	errors5xx: number;
	timeouts: number;
	networkErrors: number;
	fallbacks: number;
	/** Requests the client broke (bad input, gone): they count toward nothing. */
	clientFaults: number;
	latency: { n: number; mean: number; p50: number; p95: number; p99: number };
	feedback: { n: number; mean: number };
	/**
	 * What watched answers showed (TTFT, TTFB, duration, tokens, tokens per
	 * second, cost), whenever any was measured, guardrail or not.
	 */
	answers?: Record<string, MeasureValue>;
}

/** The registry's answer measures (TTFT, TTFB, duration, tokens, cost). */
const ANSWER_MEASURES = MEASURES.filter((m) => m.path.startsWith("answers."));

export function summarize(a: VariantAggregate, feedback?: Moments): VariantSummary {
	const errors = errorsOf(a);
	const answers = measuresOf(
		{ variant: "candidate", aggregate: a, feedback: feedback ?? emptyMoments() },
		ANSWER_MEASURES,
	).answers;
	return {
		requests: a.requests,
		errors,
		errorRate: exposure(a) > 0 ? errors / exposure(a) : 0,
		errors5xx: a.errors5xx,
		timeouts: a.timeouts,
		networkErrors: a.networkErrors,
		fallbacks: a.fallbacks,
		clientFaults: a.clientFaults,
		latency: {
			n: a.latency.n,
			mean: a.latency.mean,
			p50: histogramQuantile(a.histogram, 0.5),
			p95: histogramQuantile(a.histogram, 0.95),
			p99: histogramQuantile(a.histogram, 0.99),
		},
		feedback: { n: feedback?.n ?? 0, mean: feedback?.mean ?? 0 },
		...(typeof answers === "object" ? { answers } : {}),
	};
}
