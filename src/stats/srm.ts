/**
 * Sample ratio mismatch: Pearson's χ² goodness of fit of the observed units
 * per arm against the configured split. A mismatch means the assignment or
 * the logging is broken, so no comparison between the arms can be trusted.
 */
import { chiSquareSf } from "./special";

export interface SrmResult {
	statistic: number;
	df: number;
	pValue: number;
}

/** Pearson χ² of `observed` against `expectedWeights` (any positive scale). */
export function srmTest(observed: number[], expectedWeights: number[]): SrmResult {
	if (observed.length !== expectedWeights.length) {
		throw new RangeError("observed and expectedWeights must have the same length");
	}
	const total = observed.reduce((s, x) => s + x, 0);
	const weightSum = expectedWeights.reduce((s, w) => s + w, 0);
	const df = observed.length - 1;
	if (total === 0 || !(weightSum > 0) || df < 1)
		return { statistic: 0, df: Math.max(df, 0), pValue: 1 };
	let statistic = 0;
	for (let i = 0; i < observed.length; i++) {
		const expected = (total * (expectedWeights[i] ?? 0)) / weightSum;
		const o = observed[i] ?? 0;
		if (expected > 0) statistic += (o - expected) ** 2 / expected;
		else if (o > 0) return { statistic: Number.MAX_VALUE, df, pValue: 0 };
	}
	return { statistic, df, pValue: chiSquareSf(statistic, df) };
}

export interface SrmCheck extends SrmResult {
	/** True when p < threshold: the split is not what was configured. */
	mismatch: boolean;
	threshold: number;
	/** Indexes of arms left out for having fewer than `minUnits` units. */
	skipped: number[];
}

/**
 * The SRM alert as the controller uses it: arms with fewer than `minUnits`
 * (default 8) units are left out, and p < `threshold` (default 0.001, as in
 * GrowthBook) flags a mismatch.
 */
export function srmCheck(
	observed: number[],
	expectedWeights: number[],
	options: { threshold?: number; minUnits?: number } = {},
): SrmCheck {
	const threshold = options.threshold ?? 0.001;
	const minUnits = options.minUnits ?? 8;
	const skipped: number[] = [];
	const keptObserved: number[] = [];
	const keptWeights: number[] = [];
	observed.forEach((o, i) => {
		if (o < minUnits) skipped.push(i);
		else {
			keptObserved.push(o);
			keptWeights.push(expectedWeights[i] ?? 0);
		}
	});
	const result =
		keptObserved.length >= 2
			? srmTest(keptObserved, keptWeights)
			: { statistic: 0, df: 0, pValue: 1 };
	return { ...result, mismatch: result.pValue < threshold, threshold, skipped };
}
