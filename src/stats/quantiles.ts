/**
 * Quantiles from binned data (the metrics histograms), a distribution-free
 * confidence interval for a quantile (binomial order statistics, normal
 * approximation), and a test for "b's quantile exceeds a's by more than a
 * margin" built on it.
 */
import { normalQuantile, normalSf } from "./special";
import type { Interval } from "./types";

/** A histogram bucket [lower, upper) holding `count` values. Bins ascend. */
export interface Bin {
	lower: number;
	upper: number;
	count: number;
}

export function binsTotal(bins: readonly Bin[]): number {
	let n = 0;
	for (const bin of bins) n += bin.count;
	return n;
}

/**
 * The value at rank `rank` (0..n) of the binned data, interpolating
 * linearly inside the bin that holds it.
 */
export function valueAtRank(bins: readonly Bin[], rank: number): number {
	let below = 0;
	for (const bin of bins) {
		if (bin.count === 0) continue;
		if (rank <= below + bin.count) {
			const within = Math.min(1, Math.max(0, (rank - below) / bin.count));
			return bin.lower + (bin.upper - bin.lower) * within;
		}
		below += bin.count;
	}
	const last = [...bins].reverse().find((bin) => bin.count > 0);
	return last ? last.upper : 0;
}

/** The q-quantile (0 < q < 1); 0 for empty data. */
export function binnedQuantile(bins: readonly Bin[], q: number): number {
	return valueAtRank(bins, q * binsTotal(bins));
}

export interface QuantileEstimate {
	estimate: number;
	ci: Interval;
	/** Standard error implied by the interval: width / (2 z). */
	se: number;
	n: number;
}

/**
 * The q-quantile with a confidence interval from the ranks
 * nq ± z √(nq(1 − q)) (the binomial order-statistic interval).
 */
export function quantileInterval(bins: readonly Bin[], q: number, level = 0.95): QuantileEstimate {
	const n = binsTotal(bins);
	const estimate = valueAtRank(bins, q * n);
	if (n === 0) return { estimate: 0, ci: [null, null], se: 0, n };
	const z = normalQuantile(1 - (1 - level) / 2);
	const spread = z * Math.sqrt(n * q * (1 - q));
	const lower = valueAtRank(bins, Math.max(0, q * n - spread));
	const upper = valueAtRank(bins, Math.min(n, q * n + spread));
	return { estimate, ci: [lower, upper], se: (upper - lower) / (2 * z), n };
}

export interface QuantileShiftResult {
	/** qb − qa − margin: positive means b is slower than allowed. */
	estimate: number;
	se: number;
	/** z of the estimate. */
	statistic: number;
	/** One-sided fixed-horizon p-value for H1: qb − qa > margin. */
	pValue: number;
	a: QuantileEstimate;
	b: QuantileEstimate;
	insufficient?: string;
}

/**
 * Tests H0: qb ≤ qa + margin against H1: qb > qa + margin, e.g. "the
 * candidate's p95 is more than 50 ms above the champion's". The estimate and
 * its standard error also feed the sequential guardrail.
 */
export function quantileShiftTest(
	a: readonly Bin[],
	b: readonly Bin[],
	options: { q?: number; margin?: number; level?: number } = {},
): QuantileShiftResult {
	const q = options.q ?? 0.95;
	const margin = options.margin ?? 0;
	const qa = quantileInterval(a, q, options.level);
	const qb = quantileInterval(b, q, options.level);
	const estimate = qb.estimate - qa.estimate - margin;
	const se = Math.sqrt(qa.se ** 2 + qb.se ** 2);
	if (qa.n === 0 || qb.n === 0 || !(se > 0)) {
		return {
			estimate,
			se,
			statistic: 0,
			pValue: 1,
			a: qa,
			b: qb,
			insufficient: "not enough latency data",
		};
	}
	const statistic = estimate / se;
	return { estimate, se, statistic, pValue: normalSf(statistic), a: qa, b: qb };
}
