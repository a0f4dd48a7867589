/**
 * A difference in means compared within time: each stratum (a minute) gives
 * d_s = ȳ_b,s − ȳ_a,s, and the strata are combined with weights
 *
 *   w_s = 1 / v_s,   v_s = σ_a²/n_a,s + σ_b²/n_b,s,
 *
 * σ² being each arm's pooled within-minute variance (so the weights depend on
 * the sample sizes only, never on a stratum's own noise: no bias from
 * weighting skewed data by its own variance). θ̂ = Σ w_s d_s / Σ w_s is the
 * Cochran–Mantel–Haenszel-style stratified difference; anything that moves
 * both arms in the same minutes cancels in d_s. Its variance, with the
 * overdispersion (a, κ) of dispersion.ts estimated from the Pearson residuals
 * of d_s around θ̂, is
 *
 *   Var θ̂ = Σ w_s² (a·v_s + κ) / (Σ w_s)².
 *
 * The weights are fixed by sample sizes, so S_t = Σ w_s (d_s − θ0) is a sum of
 * independent mean-zero increments under H0 with variance V_t: the mixture
 * SPRT (sequential.ts) applies to θ̂ with that variance. The effective sample
 * size handed to it, 4σ̄²/Var θ̂, is the balanced two-arm sample that would
 * give the same variance: n_eff = 4/(1/na + 1/nb) for one stratum without
 * dispersion, smaller when the data are overdispersed.
 */
import {
	type Dispersion,
	dispersionFactor,
	estimateDispersion,
	NO_DISPERSION,
	type PearsonPoint,
} from "./dispersion";
import type { Moments } from "./moments";

export interface MeanStratum {
	a: Moments;
	b: Moments;
}

export interface StratifiedDifference {
	/** The champion's and the candidate's means at the strata weights. */
	champion: number;
	candidate: number;
	/** candidate − champion. */
	estimate: number;
	/** Variance of the estimate, dispersion included. */
	variance: number;
	/** Variances of the champion's and the candidate's weighted means (their sum is `variance`). */
	championVariance: number;
	candidateVariance: number;
	se: number;
	/** Effective (balanced two-arm) sample size, for the mixture's tuning. */
	n: number;
	/** Units compared: Σ n_a,s and Σ n_b,s over strata with both arms. */
	na: number;
	nb: number;
	strata: number;
	dispersion: Dispersion;
	insufficient?: string;
}

function pooledVariance(strata: readonly MeanStratum[], arm: "a" | "b"): number | null {
	let m2 = 0;
	let df = 0;
	for (const s of strata) {
		const m = s[arm];
		if (m.n >= 2) {
			m2 += Math.max(0, m.m2);
			df += m.n - 1;
		}
	}
	return df > 0 ? m2 / df : null;
}

/** The stratified difference of means, b − a; strata lacking an arm are left out. */
export function stratifiedDifference(
	input: readonly MeanStratum[],
	options: { dispersion?: Dispersion } = {},
): StratifiedDifference {
	const strata = input.filter((s) => s.a.n > 0 && s.b.n > 0);
	let na = 0;
	let nb = 0;
	for (const s of strata) {
		na += s.a.n;
		nb += s.b.n;
	}
	const va = pooledVariance(strata, "a");
	const vb = pooledVariance(strata, "b");
	const sigmaA = va ?? vb;
	const sigmaB = vb ?? va;
	const empty = {
		champion: 0,
		candidate: 0,
		estimate: 0,
		variance: 0,
		championVariance: 0,
		candidateVariance: 0,
		se: 0,
		n: 0,
		na,
		nb,
		strata: strata.length,
		dispersion: options.dispersion ?? NO_DISPERSION,
	};
	if (strata.length === 0) return { ...empty, insufficient: "no stratum with both arms yet" };
	if (sigmaA === null || sigmaB === null || !(sigmaA + sigmaB > 0)) {
		return { ...empty, insufficient: "needs two values in a minute and some variance" };
	}
	const v = strata.map((s) => sigmaA / s.a.n + sigmaB / s.b.n);
	let sw = 0;
	let champion = 0;
	let candidate = 0;
	strata.forEach((s, i) => {
		const w = 1 / (v[i] as number);
		sw += w;
		champion += w * s.a.mean;
		candidate += w * s.b.mean;
	});
	champion /= sw;
	candidate /= sw;
	const estimate = candidate - champion;
	const points: PearsonPoint[] = strata.map((s, i) => {
		const r = s.b.mean - s.a.mean - estimate;
		const vi = v[i] as number;
		return { r2: (r * r) / vi, h: 1 / vi };
	});
	const dispersion = options.dispersion ?? estimateDispersion(points);
	// Var θ̂ = Σ w² (a v + κ) / (Σw)², shared between the arms in proportion to their parts of v.
	let numerator = 0;
	let championPart = 0;
	strata.forEach((s, i) => {
		const vi = v[i] as number;
		const term = (dispersionFactor(dispersion, 1 / vi) * vi) / (vi * vi);
		numerator += term;
		championPart += (term * (sigmaA / s.a.n)) / vi;
	});
	const variance = numerator / (sw * sw);
	const championVariance = championPart / (sw * sw);
	const sigma = (sigmaA + sigmaB) / 2;
	return {
		champion,
		candidate,
		estimate,
		variance,
		championVariance,
		candidateVariance: variance - championVariance,
		se: Math.sqrt(variance),
		n: variance > 0 ? (4 * sigma) / variance : 0,
		na,
		nb,
		strata: strata.length,
		dispersion,
	};
}
