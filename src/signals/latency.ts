/**
 * Latency to the backend's response headers.
 *
 * Guardrails, one per quantile in `canary.latencyQuantiles` (p95, p99, …):
 * H1 is "the candidate's q-quantile exceeds the champion's (over the same
 * minutes) by more than the tolerance", the larger of
 * `maxLatencyIncreasePct` % and `maxLatencyIncreaseMs`: the champion's
 * quantile standardised to the candidate's minutes against the candidate's,
 * on the log scale, with order-statistic standard errors, in the mixture
 * SPRT. Timeouts are in the histograms at their (censored) latency, so a
 * candidate that times out looks slow, not fast. The same test serves every
 * timed answer metric (TTFT: ttft.ts). As an A/B metric: the stratified
 * difference in means, with the Mann–Whitney p-value on the pooled
 * histograms reported beside it.
 */
import { formatP, formatSigned } from "../lib/format";
import { alignedCounts, histogramBins, histogramQuantile } from "../metrics/histogram";
import {
	mannWhitneyBuckets,
	quantileInterval,
	sampleVariance,
	sequentialTest,
	stratifiedQuantileTest,
} from "../stats";
import { quantileDetectionMinutes, schedule } from "./detection";
import { type GuardrailBase, insufficient } from "./guardrail";
import { meanComparison } from "./mean-comparison";
import type { AlignedStrata, Stratum } from "./strata";
import type {
	AbComparison,
	DetectionTime,
	Guardrail,
	GuardrailOptions,
	GuardrailResult,
	Measure,
	PowerContext,
	Signal,
} from "./types";

/** Tail values each arm needs before a quantile is compared: n·(1 − q) ≥ this. */
export const MIN_TAIL_VALUES = 10;
/** Latency increases below this never fail: Workers' clocks do not resolve them. */
export const LATENCY_RESOLUTION_MS = 1;

export interface LatencyMargins {
	/** Tolerated relative increase, percent. */
	pct: number;
	/** Tolerated absolute increase, ms (the larger of the two applies). */
	ms?: number;
}

/** The tolerated increase (ms) of a quantile whose champion value is `championMs`. */
export function latencyTolerance(championMs: number, margins: LatencyMargins): number {
	return Math.max((championMs * margins.pct) / 100, margins.ms ?? 0, LATENCY_RESOLUTION_MS);
}

/** A timed metric the quantile guardrails run on. */
export type TimedMetric = "latency" | "ttft";

/** "latency_p95", "latency_p99", "latency_p99.9" (or "ttft_p95" for the time to first token) */
export function latencyName(q: number, metric: TimedMetric = "latency"): string {
	return `${metric}_p${Number((q * 100).toFixed(3))}`;
}

function quantileLabel(q: number, metric: TimedMetric): string {
	return `${metric === "ttft" ? "TTFT" : "latency"} p${Number((q * 100).toFixed(3))}`;
}

/** One quantile guardrail over the strata's histograms (dense, from {@link AlignedStrata}). */
export function quantileGuardrail(
	strata: readonly Stratum[],
	aligned: AlignedStrata,
	q: number,
	margins: LatencyMargins,
	options: GuardrailOptions,
	metric: TimedMetric = "latency",
): GuardrailResult {
	const dense = strata.map((_, i) => ({
		a: aligned.counts[2 * i] as Float64Array,
		b: aligned.counts[2 * i + 1] as Float64Array,
	}));
	const test = stratifiedQuantileTest(aligned.layout, dense, q);
	const qa = test.champion.estimate;
	const qb = test.candidate.estimate;
	const tolerance = latencyTolerance(qa, margins);
	const label = quantileLabel(q, metric);
	const base: GuardrailBase = {
		name: latencyName(q, metric),
		label,
		unit: "ms",
		worse: "higher",
		champion: qa,
		candidate: qb,
		difference: qb - qa,
		margin: tolerance,
		alpha: options.alpha,
	};
	const tailA = test.champion.n * (1 - q);
	const tailB = test.candidate.n * (1 - q);
	if (test.insufficient || tailA < MIN_TAIL_VALUES || tailB < MIN_TAIL_VALUES) {
		const needed = Math.ceil(MIN_TAIL_VALUES / (1 - q));
		return insufficient(
			base,
			options.previousPValue,
			test.insufficient ??
				`needs about ${needed} timed responses per variant (${Math.round(test.champion.n)} champion, ${test.candidate.n} candidate in shared minutes)`,
			test.strata,
		);
	}
	const sequential = sequentialTest({
		estimate: test.logRatio,
		variance: test.se ** 2,
		n: test.n,
		nullValue: Math.log1p(tolerance / qa),
		alternative: "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const lower = sequential.ci[0];
	const failed = sequential.pValue <= options.alpha;
	const shown = metric === "ttft" ? label : label.replace("latency ", "");
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: sequential.pValue,
		ci: [lower === null ? null : qa * Math.expm1(lower), null],
		dispersion: test.dispersion,
		strata: test.strata,
		detail: `${shown} ${qb.toFixed(1)} ms vs champion ${qa.toFixed(1)} ms in the same minutes (${formatSigned(qb / qa - 1)}), allowed +${tolerance.toFixed(1)} ms: ${failed ? "slower than allowed" : "within the allowance"} (p = ${formatP(sequential.pValue)}, α = ${options.alpha.toFixed(4)})`,
	};
}

/** Minutes to catch a quantile slower by twice its tolerance, from the champion's latency. */
function quantileDetection(
	q: number,
	context: PowerContext,
	promote: number | null,
): DetectionTime {
	const policy = context.spec.canary;
	const name = latencyName(q);
	const estimate = quantileInterval(histogramBins(context.champion.histogram), q);
	const relative = estimate.estimate > 0 ? estimate.se / estimate.estimate : 0;
	const unitVariance =
		estimate.n * (1 - q) >= MIN_TAIL_VALUES ? relative * relative * estimate.n : 0;
	const quantileMs = estimate.estimate;
	const phases = schedule(policy, context.requestsPerMinute);
	if (phases.length === 0 || !(unitVariance > 0) || !(quantileMs > 0))
		return { name, reference: "not enough latency data yet", minutes: null, beforePromotion: true };
	const tolerance = latencyTolerance(quantileMs, {
		pct: policy.maxLatencyIncreasePct,
		ms: policy.maxLatencyIncreaseMs,
	});
	const minutes = quantileDetectionMinutes({
		phases,
		rate: context.requestsPerMinute,
		gap: Math.log1p((2 * tolerance) / quantileMs) - Math.log1p(tolerance / quantileMs),
		unitVariance,
		alpha: context.alpha,
		nStar: policy.nStar,
	});
	return {
		name,
		reference: `${name.replace("latency_", "")} ${(quantileMs + 2 * tolerance).toFixed(0)} ms instead of at most ${(quantileMs + tolerance).toFixed(0)} ms`,
		minutes,
		beforePromotion: promote === null || minutes <= promote,
	};
}

function guardrails(spec: Parameters<NonNullable<Signal["guardrails"]>>[0]): Guardrail[] {
	const policy = spec.canary;
	const margins = { pct: policy.maxLatencyIncreasePct, ms: policy.maxLatencyIncreaseMs };
	return policy.latencyQuantiles.map((q) => ({
		name: latencyName(q),
		run: (evidence, options) =>
			quantileGuardrail(evidence.strata, evidence.aligned, q, margins, options),
		detection: (context, promote) => quantileDetection(q, context, promote),
	}));
}

const ab: AbComparison = {
	metric: "latency",
	always: true,
	measured: () => true,
	compare({ spec, strata, champion, candidate, memory }) {
		const comparison = meanComparison(
			"latency",
			{ label: "mean latency", unit: "ms", worse: "higher" },
			strata.map((s) => ({ a: s.champion.latency, b: s.candidate.latency })),
			spec.ab.alpha,
			memory,
		);
		const [a, b] = alignedCounts(champion.histogram, candidate.histogram);
		const mw = mannWhitneyBuckets(a, b);
		// The stratified mean decides; the Mann–Whitney p-value is reported as the robust alternative.
		return mw.insufficient ? comparison : { ...comparison, mannWhitneyPValue: mw.pValue };
	},
	variances: (_primary, { champion, candidate }) => [
		sampleVariance(champion.latency),
		sampleVariance(candidate.latency),
	],
};

const round = (x: number) => Math.round(x * 1000) / 1000;
const LATENCY_HELP = "Quantiles of the latency to the backend's response headers per variant";
const timed = ({ aggregate }: { aggregate: { latency: { n: number } } }) => aggregate.latency.n > 0;

const measures: Measure[] = [
	{
		path: "latency.mean",
		csv: "latency_mean_ms",
		prometheus: {
			name: "switchyard_latency_mean_milliseconds",
			help: "Mean latency to the backend's response headers per variant",
			when: timed,
		},
		read: ({ aggregate }) => round(aggregate.latency.mean),
	},
	...[0.5, 0.95, 0.99].map(
		(q): Measure => ({
			path: `latency.p${q * 100}`,
			csv: `latency_p${q * 100}_ms`,
			prometheus: {
				name: "switchyard_latency_milliseconds",
				help: LATENCY_HELP,
				labels: { quantile: String(q) },
				when: timed,
			},
			read: ({ aggregate }) => round(histogramQuantile(aggregate.histogram, q)),
		}),
	),
];

export const latency: Signal = { name: "latency", guardrails, ab, measures };
