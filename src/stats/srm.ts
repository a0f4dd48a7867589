/**
 * Sample ratio mismatch: Pearson's χ² goodness of fit of the observed units
 * per arm against the configured split. A mismatch means the assignment or
 * the logging is broken, so no comparison between the arms can be trusted.
 */
import { countMixtureTest } from "./counts";
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

/** Mixing scale of the log odds of the split for the sequential SRM test (a 20 % odds ratio at one SD). */
export const SRM_PRIOR_SCALE = 0.2;

export interface SequentialSrm {
	/** Always-valid p-value of "the split differs from the configured one" (running minimum). */
	pValue: number;
	/** The α it is compared with. */
	threshold: number;
	/** True when pValue ≤ threshold. */
	mismatch: boolean;
	champion: number;
	candidate: number;
	/** The configured candidate share and the observed one. */
	expectedShare: number;
	observedShare: number;
	/** Multiplicative overdispersion of the per-minute split (requests cluster in units). */
	dispersion: number;
}

/**
 * Sequential (anytime-valid) sample-ratio test: each request in minute s is
 * the candidate's with the configured probability under H0, so the
 * conditional-binomial mixture of counts.ts applies with requests as events
 * (the two-arm case of Lindon & Malek's sequential multinomial test),
 * two-sided, widened by the per-minute overdispersion of the split, since
 * units (not requests) are what is randomised. Valid at every look; callers
 * keep the running minimum p-value.
 */
export function sequentialSrm(
	minutes: readonly { champion: number; candidate: number }[],
	expectedShare: number,
	options: { alpha: number; previousPValue?: number; priorScale?: number },
): SequentialSrm {
	let champion = 0;
	let candidate = 0;
	for (const m of minutes) {
		champion += m.champion;
		candidate += m.candidate;
	}
	const total = champion + candidate;
	const base = {
		threshold: options.alpha,
		champion,
		candidate,
		expectedShare,
		observedShare: total > 0 ? candidate / total : 0,
	};
	if (!(expectedShare > 0 && expectedShare < 1) || total === 0) {
		const pValue = options.previousPValue ?? 1;
		return { ...base, pValue, mismatch: pValue <= options.alpha, dispersion: 1 };
	}
	const test = countMixtureTest(
		minutes.map((m) => ({
			events: m.champion + m.candidate,
			candidate: m.candidate,
			nullShare: expectedShare,
		})),
		{
			alternative: "two-sided",
			alpha: options.alpha,
			priorScale: options.priorScale ?? SRM_PRIOR_SCALE,
			previousPValue: options.previousPValue,
		},
	);
	return {
		...base,
		pValue: test.pValue,
		mismatch: test.pValue <= options.alpha,
		dispersion: test.dispersion.a,
	};
}
