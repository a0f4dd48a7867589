/**
 * Quantiles from binned data (the metrics histograms), a distribution-free
 * confidence interval for a quantile (binomial order statistics, normal
 * approximation), and a test for "b's quantile exceeds a's by more than a
 * margin" built on it.
 */
import { dispersionFactor, estimateDispersion, type PearsonPoint } from "./dispersion";
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

/** The value below which a share `p` (0..1) of a distribution over `bins` lies, interpolating within a bin. */
export function quantileOfMass(
	layout: readonly { lower: number; upper: number }[],
	mass: ArrayLike<number>,
	p: number,
): number {
	let total = 0;
	for (let i = 0; i < mass.length; i++) total += mass[i] as number;
	if (!(total > 0)) return 0;
	const target = Math.min(1, Math.max(0, p)) * total;
	let below = 0;
	let last = -1;
	for (let i = 0; i < mass.length; i++) {
		const m = mass[i] as number;
		if (!(m > 0)) continue;
		last = i;
		if (target <= below + m) {
			const bin = layout[i] as { lower: number; upper: number };
			const within = Math.min(1, Math.max(0, (target - below) / m));
			return bin.lower + (bin.upper - bin.lower) * within;
		}
		below += m;
	}
	return last >= 0 ? (layout[last] as { upper: number }).upper : 0;
}

/** Counts per bin of the shared layout, for one arm in one stratum. */
export interface QuantileStratum {
	a: ArrayLike<number>;
	b: ArrayLike<number>;
}

export interface StratifiedQuantile {
	q: number;
	/** The champion's q-quantile over the candidate's minutes (direct standardisation). */
	champion: QuantileEstimate;
	/** The candidate's q-quantile. */
	candidate: QuantileEstimate;
	/** log(candidate / champion). */
	logRatio: number;
	/** Its standard error, dispersion included. */
	se: number;
	/** Variance inflation from per-minute overdispersion of the tail share (≥ 1). */
	dispersion: number;
	/** Effective (balanced two-arm) sample size, for the mixture's tuning. */
	n: number;
	strata: number;
	insufficient?: string;
}

/**
 * The q-quantiles of two arms compared within time. The candidate's
 * distribution is its own (pooled over its minutes); the champion's is
 * standardised to the candidate's minutes: F*_a = Σ_s u_s F_a,s with
 * u_s = m_b,s / M_b, the candidate's share of its values in minute s. A change
 * that hits both arms in the same minutes changes both alike.
 *
 * Standard errors come from the order statistics: F̂(x) at the quantile has
 * variance q(1 − q)/n (n_a* = 1 / Σ u_s²/m_a,s for the weighted champion),
 * and the quantile's SE is the width of F̂⁻¹(q ± z·√(q(1 − q)/n)) over 2z
 * (the binomial order-statistic interval; no density estimate needed). The
 * comparison is on the log scale, so margins are relative. Overdispersion:
 * the per-minute difference of the two arms' shares above the pooled
 * quantile is checked against its binomial variance (dispersion.ts), and the
 * variance is widened by the estimated factor.
 */
export function stratifiedQuantileTest(
	layout: readonly { lower: number; upper: number }[],
	input: readonly QuantileStratum[],
	q: number,
	level = 0.95,
): StratifiedQuantile {
	const bins = layout.length;
	const strata: { a: ArrayLike<number>; b: ArrayLike<number>; ma: number; mb: number }[] = [];
	let totalB = 0;
	for (const s of input) {
		let ma = 0;
		let mb = 0;
		for (let i = 0; i < bins; i++) {
			ma += (s.a[i] as number) ?? 0;
			mb += (s.b[i] as number) ?? 0;
		}
		if (ma > 0 && mb > 0) {
			strata.push({ a: s.a, b: s.b, ma, mb });
			totalB += mb;
		}
	}
	const none: QuantileEstimate = { estimate: 0, ci: [null, null], se: 0, n: 0 };
	const empty = {
		q,
		champion: none,
		candidate: none,
		logRatio: 0,
		se: 0,
		dispersion: 1,
		n: 0,
		strata: strata.length,
	};
	if (strata.length === 0) return { ...empty, insufficient: "no minute with both arms yet" };
	const massA = new Float64Array(bins);
	const massB = new Float64Array(bins);
	let inverseNa = 0;
	for (const s of strata) {
		const u = s.mb / totalB;
		inverseNa += (u * u) / s.ma;
		for (let i = 0; i < bins; i++) {
			massA[i] = (massA[i] as number) + (u * ((s.a[i] as number) ?? 0)) / s.ma;
			massB[i] = (massB[i] as number) + ((s.b[i] as number) ?? 0) / totalB;
		}
	}
	const z = normalQuantile(1 - (1 - level) / 2);
	const estimate = (mass: Float64Array, n: number): QuantileEstimate => {
		const spread = z * Math.sqrt((q * (1 - q)) / n);
		const lower = quantileOfMass(layout, mass, q - spread);
		const upper = quantileOfMass(layout, mass, q + spread);
		return {
			estimate: quantileOfMass(layout, mass, q),
			ci: [lower, upper],
			se: (upper - lower) / (2 * z),
			n,
		};
	};
	const champion = estimate(massA, 1 / inverseNa);
	const candidate = estimate(massB, totalB);
	if (!(champion.estimate > 0 && candidate.estimate > 0)) {
		return { ...empty, champion, candidate, insufficient: "no positive latency yet" };
	}
	// Overdispersion of the tail share above the pooled quantile, minute by minute.
	const cut = Math.sqrt(champion.estimate * candidate.estimate);
	const shareAbove = (counts: ArrayLike<number>, m: number) => {
		let above = 0;
		for (let i = 0; i < bins; i++) {
			const bin = layout[i] as { lower: number; upper: number };
			const c = (counts[i] as number) ?? 0;
			if (bin.lower >= cut) above += c;
			else if (bin.upper > cut) above += (c * (bin.upper - cut)) / (bin.upper - bin.lower);
		}
		return above / m;
	};
	const tail = 1 - q;
	const spreadV = (s: { ma: number; mb: number }) => tail * (1 - tail) * (1 / s.ma + 1 / s.mb);
	const differences = strata.map((s) => shareAbove(s.b, s.mb) - shareAbove(s.a, s.ma));
	let sw = 0;
	let swd = 0;
	strata.forEach((s, i) => {
		const w = 1 / spreadV(s);
		sw += w;
		swd += w * (differences[i] as number);
	});
	const centre = swd / sw;
	const points: PearsonPoint[] = strata.map((s, i) => {
		const v = spreadV(s);
		const r = (differences[i] as number) - centre;
		const count = (tail * (1 - tail)) / (1 / s.ma + 1 / s.mb);
		return { r2: (r * r) / v, h: 1 / v, tail: 1 / count };
	});
	const d = estimateDispersion(points);
	let model = 0;
	let widened = 0;
	for (const s of strata) {
		const u = s.mb / totalB;
		const v = spreadV(s);
		model += u * u * v;
		widened += u * u * v * dispersionFactor(d, 1 / v);
	}
	const dispersion = model > 0 ? Math.max(1, widened / model) : 1;
	const relA = champion.se / champion.estimate;
	const relB = candidate.se / candidate.estimate;
	const variance = dispersion * (relA * relA + relB * relB);
	// Effective sample size: the balanced two-arm n with the same variance of F̂ at the quantile.
	const n = 4 / (dispersion * (inverseNa + 1 / totalB));
	return {
		q,
		champion,
		candidate,
		logRatio: Math.log(candidate.estimate / champion.estimate),
		se: Math.sqrt(variance),
		dispersion,
		n,
		strata: strata.length,
	};
}
