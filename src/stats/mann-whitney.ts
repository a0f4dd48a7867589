/**
 * Mann–Whitney U on histograms: `a` and `b` are counts per ordered bucket, so
 * every bucket is a block of ties. Normal approximation with tie and
 * continuity corrections, two-sided, as scipy.stats.mannwhitneyu(b, a) does.
 */
import { normalSf } from "./special";

export interface MannWhitneyResult {
	/** U of b: the number of (a, b) pairs where b is larger, ties counting ½. */
	u: number;
	pValue: number;
	/** Continuity-corrected z of U_b − n_a n_b / 2 (positive: b tends larger). */
	z: number;
	/** P(b > a) + ½ P(b = a), the common-language effect size. */
	probabilityBGreater: number;
	insufficient?: string;
}

export function mannWhitneyBuckets(a: number[], b: number[]): MannWhitneyResult {
	const buckets = Math.max(a.length, b.length);
	let na = 0;
	let nb = 0;
	for (let i = 0; i < buckets; i++) {
		na += a[i] ?? 0;
		nb += b[i] ?? 0;
	}
	if (na === 0 || nb === 0) {
		return {
			u: 0,
			pValue: 1,
			z: 0,
			probabilityBGreater: 0.5,
			insufficient: "a variant has no values",
		};
	}
	const n = na + nb;
	let below = 0;
	let rankSumB = 0;
	let tieTerm = 0;
	for (let i = 0; i < buckets; i++) {
		const ai = a[i] ?? 0;
		const bi = b[i] ?? 0;
		const t = ai + bi;
		if (t === 0) continue;
		const midrank = below + (t + 1) / 2;
		rankSumB += bi * midrank;
		tieTerm += t * t * t - t;
		below += t;
	}
	const u = rankSumB - (nb * (nb + 1)) / 2;
	const mu = (na * nb) / 2;
	const sigma = Math.sqrt(((na * nb) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
	const probabilityBGreater = u / (na * nb);
	if (!(sigma > 0)) {
		return { u, pValue: 1, z: 0, probabilityBGreater, insufficient: "all values are tied" };
	}
	const uMax = Math.max(u, na * nb - u);
	const zMax = (uMax - mu - 0.5) / sigma;
	const pValue = Math.min(1, 2 * normalSf(zMax));
	const z = (Math.sign(u - mu) * Math.max(0, Math.abs(u - mu) - 0.5)) / sigma;
	return { u, pValue, z, probabilityBGreater };
}
