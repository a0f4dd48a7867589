/**
 * Streaming moments: count, mean and M2 (sum of squared deviations from the
 * mean), updated with Welford's algorithm and merged with Chan et al.'s
 * parallel formula. Unlike Σx and Σx², they keep full precision when values
 * sit on a large offset (timestamps, values around 1e9), and they merge
 * exactly, so isolates and shards can pre-aggregate.
 */

/** Sufficient statistics for a mean and a variance. */
export interface Moments {
	n: number;
	mean: number;
	m2: number;
}

export function emptyMoments(): Moments {
	return { n: 0, mean: 0, m2: 0 };
}

/** Adds one value in place (Welford). Hot path: no allocation. */
export function pushValue(m: Moments, x: number): void {
	m.n += 1;
	const delta = x - m.mean;
	m.mean += delta / m.n;
	m.m2 += delta * (x - m.mean);
}

/**
 * Merges two summaries (Chan et al. 1979). Associative and commutative up to
 * rounding; merging with an empty summary returns the other unchanged.
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
	if (a.n === 0) return { ...b };
	if (b.n === 0) return { ...a };
	const n = a.n + b.n;
	const delta = b.mean - a.mean;
	return {
		n,
		mean: a.mean + (delta * b.n) / n,
		m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n,
	};
}

/** Sample variance (n − 1 denominator); 0 below two values. */
export function sampleVariance(m: Moments): number {
	return m.n > 1 ? Math.max(0, m.m2) / (m.n - 1) : 0;
}

/** Moments of a list of values, for tests and simulations. */
export function momentsOf(values: Iterable<number>): Moments {
	const m = emptyMoments();
	for (const x of values) pushValue(m, x);
	return m;
}
