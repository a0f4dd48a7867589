/**
 * Log-bucket latency histogram. Buckets grow by γ = 1.04 from 0.1 ms, so 340
 * buckets reach 60 s and any quantile estimate (the bucket's harmonic
 * midpoint, as DDSketch does) is within (γ − 1)/(γ + 1) ≈ 1.96 % of the exact
 * sample quantile. Mergeable by adding counts; stored sparse.
 *
 * Bucket 0 holds values below 0.1 ms; bucket i (1..340) holds
 * [0.1·γ^(i−1), 0.1·γ^i); bucket 341 holds everything from about 61.7 s up.
 *
 * Warning: the layout is part of the stored data; changing γ or the minimum
 * makes existing histograms unreadable.
 */
import { type Bin, binnedQuantile } from "../stats";

export const MIN_MS = 0.1;
export const GAMMA = 1.04;
export const REGULAR_BUCKETS = 340;
export const OVERFLOW = REGULAR_BUCKETS + 1;
const LOG_GAMMA = Math.log(GAMMA);

/** Sparse counts by bucket index. */
export type Histogram = Record<number, number>;

export function bucketIndex(ms: number): number {
	if (!(ms >= MIN_MS)) return 0;
	const i = 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_GAMMA);
	return Math.min(i, OVERFLOW);
}

const EDGES = Array.from({ length: REGULAR_BUCKETS + 1 }, (_, i) => MIN_MS * GAMMA ** i);

export function bucketBounds(index: number): [number, number] {
	if (index <= 0) return [0, MIN_MS];
	if (index >= OVERFLOW) return [EDGES[REGULAR_BUCKETS] as number, Number.POSITIVE_INFINITY];
	return [EDGES[index - 1] as number, EDGES[index] as number];
}

/** The value reported for a bucket: its harmonic midpoint (lower bound for the overflow bucket). */
export function bucketValue(index: number): number {
	const [lo, hi] = bucketBounds(index);
	if (index <= 0) return MIN_MS / 2;
	if (!Number.isFinite(hi)) return lo;
	return (2 * lo * hi) / (lo + hi);
}

export function addToHistogram(histogram: Histogram, ms: number, count = 1): void {
	const i = bucketIndex(ms);
	histogram[i] = (histogram[i] ?? 0) + count;
}

export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
	const merged: Histogram = { ...a };
	for (const [key, count] of Object.entries(b)) {
		const i = Number(key);
		merged[i] = (merged[i] ?? 0) + count;
	}
	return merged;
}

/** Bucket indexes run 0..OVERFLOW: reading each is faster than enumerating an object's keys. */
function sortedEntries(histogram: Histogram): [number, number][] {
	const entries: [number, number][] = [];
	for (let i = 0; i <= OVERFLOW; i++) {
		const count = histogram[i];
		if (count !== undefined && count > 0) entries.push([i, count]);
	}
	return entries;
}

export function histogramCount(histogram: Histogram): number {
	let n = 0;
	for (const count of Object.values(histogram)) n += count;
	return n;
}

/**
 * The q-quantile (0..1): the value at rank q·n, interpolated within the bucket
 * that holds it; 0 for an empty histogram. This is the one estimator the
 * guardrails, the reports, the exports and the dashboard share. The estimate
 * lies in the bucket of the sample's order statistic x₍⌈qn⌉₎, so within
 * γ − 1 = 4 % of it, and it moves continuously with the data (a bucket's
 * midpoint would jump by 4 % between neighbouring buckets).
 */
export function histogramQuantile(histogram: Histogram, q: number): number {
	return binnedQuantile(histogramBins(histogram), Math.min(1, Math.max(0, q)));
}

/** The histogram as ordered bins for the statistics engine (overflow capped at twice its lower bound). */
export function histogramBins(histogram: Histogram): Bin[] {
	return sortedEntries(histogram).map(([index, count]) => {
		const [lower, upper] = bucketBounds(index);
		return { lower, upper: Number.isFinite(upper) ? upper : lower * 2, count };
	});
}

/** Dense counts over the union of two histograms' buckets, for Mann–Whitney. */
export function alignedCounts(a: Histogram, b: Histogram): [number[], number[]] {
	const indexes = [...new Set([...Object.keys(a), ...Object.keys(b)].map(Number))].sort(
		(x, y) => x - y,
	);
	return [indexes.map((i) => a[i] ?? 0), indexes.map((i) => b[i] ?? 0)];
}

/**
 * Several histograms on one dense layout (every bucket from the lowest to the
 * highest one used, in order), for the within-time quantile comparison. One
 * pass over each histogram.
 */
export function alignHistograms(histograms: readonly Histogram[]): {
	layout: { lower: number; upper: number }[];
	counts: Float64Array[];
	/** The bucket index of layout[0]. */
	first: number;
} {
	let first = OVERFLOW + 1;
	let last = -1;
	for (const h of histograms) {
		for (let i = 0; i < first; i++) {
			const count = h[i];
			if (count !== undefined && count > 0) {
				first = i;
				break;
			}
		}
		for (let i = OVERFLOW; i > last; i--) {
			const count = h[i];
			if (count !== undefined && count > 0) {
				last = i;
				break;
			}
		}
	}
	if (last < first)
		return { layout: [], counts: histograms.map(() => new Float64Array(0)), first: 0 };
	const layout: { lower: number; upper: number }[] = [];
	for (let index = first; index <= last; index++) {
		const [lower, upper] = bucketBounds(index);
		layout.push({ lower, upper: Number.isFinite(upper) ? upper : lower * 2 });
	}
	const counts = histograms.map((h) => {
		const dense = new Float64Array(last - first + 1);
		for (let i = first; i <= last; i++) {
			const count = h[i];
			if (count !== undefined && count > 0) dense[i - first] = count;
		}
		return dense;
	});
	return { layout, counts, first };
}
