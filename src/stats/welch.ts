/**
 * Welch's unequal-variance t-test on summary statistics, with confidence
 * intervals for the absolute difference (Welch–Satterthwaite df) and the
 * relative difference (delta method). Oriented b − a: b is the candidate.
 */
import { normalQuantile, studentQuantile, studentTwoSided } from "./special";
import type { Interval } from "./types";

/** A sample's mean, sample variance (n − 1) and size. */
export interface SampleSummary {
	mean: number;
	variance: number;
	n: number;
}

export interface WelchResult {
	statistic: number;
	df: number;
	pValue: number;
	/** b.mean − a.mean. */
	difference: number;
	/** Standard error of the difference. */
	se: number;
	ci: Interval;
	/** b.mean / a.mean − 1 with a delta-method interval; null when a.mean is 0. */
	relative: { estimate: number; ci: Interval } | null;
	/** Set when the data cannot support a test; the numbers are then neutral. */
	insufficient?: string;
}

export function welchTTest(
	a: SampleSummary,
	b: SampleSummary,
	options: { level?: number } = {},
): WelchResult {
	const level = options.level ?? 0.95;
	const difference = b.mean - a.mean;
	if (a.n < 2 || b.n < 2) return neutral(difference, "each variant needs at least 2 values");
	const va = a.variance / a.n;
	const vb = b.variance / b.n;
	const se = Math.sqrt(va + vb);
	if (!(se > 0)) return neutral(difference, "both variants have zero variance");
	const statistic = difference / se;
	const df = (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
	const t = studentQuantile(1 - (1 - level) / 2, df);
	return {
		statistic,
		df,
		pValue: studentTwoSided(statistic, df),
		difference,
		se,
		ci: [difference - t * se, difference + t * se],
		relative: relativeDifference(a.mean, va, b.mean, vb, level),
	};
}

/**
 * b/a − 1 with a delta-method interval, given each mean and the variance of
 * each mean (not of the data).
 */
export function relativeDifference(
	meanA: number,
	varMeanA: number,
	meanB: number,
	varMeanB: number,
	level: number,
): { estimate: number; ci: Interval } | null {
	if (meanA === 0) return null;
	const estimate = meanB / meanA - 1;
	const se = Math.sqrt(varMeanB / meanA ** 2 + (meanB ** 2 * varMeanA) / meanA ** 4);
	const z = normalQuantile(1 - (1 - level) / 2);
	return { estimate, ci: [estimate - z * se, estimate + z * se] };
}

function neutral(difference: number, insufficient: string): WelchResult {
	return {
		statistic: 0,
		df: 0,
		pValue: 1,
		difference,
		se: 0,
		ci: [difference, difference],
		relative: null,
		insufficient,
	};
}
