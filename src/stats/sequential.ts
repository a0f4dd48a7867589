/**
 * Always-valid inference: a mixture sequential probability ratio test
 * (mSPRT; Robbins 1970, Johari et al. 2017 "Always Valid Inference") on an
 * asymptotically normal estimate, as GrowthBook's sequential engine does
 * (Waudby-Smith et al. 2021, asymptotic confidence sequences).
 *
 * With an estimate θ̂ of variance v and a normal mixing distribution of
 * variance τ² around the null value θ0, the mixture likelihood ratio is
 *
 *   Λ = (1 + r)^(-1/2) · exp(r/(1 + r) · z²/2),  r = τ²/v,  z = (θ̂ − θ0)/√v
 *
 * and the one-sided version (half-normal mixing over θ > θ0) is
 *
 *   Λ⁺ = 2 (1 + r)^(-1/2) · exp(r/(1 + r) · z²/2) · Φ(z √(r/(1 + r))).
 *
 * Under H0, Λ is a (super)martingale, so by Ville's inequality the chance it
 * ever exceeds 1/α, at any number of looks, is at most α. The always-valid
 * p-value is the running minimum of 1/Λ over looks: callers pass the previous
 * value in and store the returned one.
 *
 * τ² is tuned GrowthBook's way: r = ρ²·N with ρ² = (−2 ln α + ln(1 − 2 ln α))/N*,
 * which makes the boundary tightest when the effective sample size N reaches
 * N* (default 5,000). N is the total sample size a balanced two-arm test
 * would need for the same variance, 4 / (1/na + 1/nb), so that unbalanced
 * canaries (1 % against 99 %) are tuned by what they can actually resolve.
 */
import { normalCdf } from "./special";
import type { Interval } from "./types";

export type Alternative = "two-sided" | "greater" | "less";

export interface SequentialInput {
	/** The estimate, e.g. candidate − champion. */
	estimate: number;
	/** The variance of the estimate (not of the data). */
	variance: number;
	/** Effective sample size, see {@link effectiveSampleSize}. */
	n: number;
	/** H0 value (or boundary for one-sided tests). Default 0. */
	nullValue?: number;
	/** "greater": H1 is estimate > nullValue. Default two-sided. */
	alternative?: Alternative;
	alpha?: number;
	/** Sample size at which the boundary is tightest. Default 5,000. */
	nStar?: number;
	/** The always-valid p-value from the previous look (1 at the first). */
	previousPValue?: number;
}

export interface SequentialResult {
	/** Always-valid p-value: min(previous, 1/Λ). */
	pValue: number;
	/** ln Λ at this look. */
	logLikelihoodRatio: number;
	/** True when pValue ≤ alpha. */
	rejected: boolean;
	/** Confidence sequence for the estimand at this look (one-sided: one bound). */
	ci: Interval;
	insufficient?: string;
}

export const DEFAULT_N_STAR = 5_000;

/** The effective total sample size of a two-arm comparison: 4 / (1/na + 1/nb). */
export function effectiveSampleSize(na: number, nb: number): number {
	return na > 0 && nb > 0 ? 4 / (1 / na + 1 / nb) : 0;
}

/** ρ² for the normal mixture, tuned to be tightest at `nStar`. */
export function mixtureRhoSquared(alpha: number, nStar = DEFAULT_N_STAR): number {
	const l = -2 * Math.log(alpha);
	return (l + Math.log(1 + l)) / nStar;
}

export function sequentialTest(input: SequentialInput): SequentialResult {
	const alpha = input.alpha ?? 0.05;
	const alternative = input.alternative ?? "two-sided";
	const previous = input.previousPValue ?? 1;
	const nullValue = input.nullValue ?? 0;
	if (!(input.variance > 0) || !(input.n > 0) || !Number.isFinite(input.estimate)) {
		return {
			pValue: previous,
			logLikelihoodRatio: 0,
			rejected: previous <= alpha,
			ci: [null, null],
			insufficient: "no variance to test yet",
		};
	}
	const r = mixtureRhoSquared(alpha, input.nStar) * input.n;
	const se = Math.sqrt(input.variance);
	const direction = alternative === "less" ? -1 : 1;
	const z = (direction * (input.estimate - nullValue)) / se;
	const logLr = logLikelihoodRatio(z, r, alternative);
	const pValue = Math.min(previous, Math.min(1, Math.exp(-logLr)));
	return {
		pValue,
		logLikelihoodRatio: logLr,
		rejected: pValue <= alpha,
		ci: confidenceSequence(input.estimate, se, r, alpha, alternative),
	};
}

function logLikelihoodRatio(z: number, r: number, alternative: Alternative): number {
	const base = -0.5 * Math.log1p(r) + ((r / (1 + r)) * z * z) / 2;
	if (alternative === "two-sided") return base;
	const phi = normalCdf(z * Math.sqrt(r / (1 + r)));
	return phi > 0 ? Math.log(2) + base + Math.log(phi) : Number.NEGATIVE_INFINITY;
}

/**
 * The z at which the mixture with r = τ²/v crosses 1/α (Λ is increasing in z
 * for z ≥ 0): the half-width of the confidence sequence in standard errors.
 */
export function boundary(r: number, alpha: number, alternative: Alternative): number {
	if (alternative === "two-sided") {
		return Math.sqrt(((1 + r) / r) * (Math.log1p(r) + 2 * Math.log(1 / alpha)));
	}
	const target = Math.log(1 / alpha);
	let lo = 0;
	let hi = boundary(r, alpha / 2, "two-sided") + 1;
	for (let i = 0; i < 100; i++) {
		const mid = (lo + hi) / 2;
		if (logLikelihoodRatio(mid, r, alternative) < target) lo = mid;
		else hi = mid;
	}
	return hi;
}

function confidenceSequence(
	estimate: number,
	se: number,
	r: number,
	alpha: number,
	alternative: Alternative,
): Interval {
	const half = boundary(r, alpha, alternative) * se;
	if (alternative === "greater") return [estimate - half, null];
	if (alternative === "less") return [null, estimate + half];
	return [estimate - half, estimate + half];
}
