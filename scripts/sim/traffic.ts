/**
 * Synthetic per-minute traffic for one variant: request counts, errors and a
 * latency histogram drawn from a log-normal distribution, generated directly
 * as aggregates (a multinomial over the histogram's buckets) so thousands of
 * rollouts run in seconds.
 */
import { emptyAggregate, type VariantAggregate } from "../../src/metrics/aggregate";
import { bucketBounds, bucketValue, OVERFLOW } from "../../src/metrics/histogram";
import { normalCdf } from "../../src/stats";
import type { Random } from "../lib/random";

export interface LatencyModel {
	/** Median latency, ms. */
	median: number;
	/** Log-scale standard deviation. */
	sigma: number;
}

/** Bucket probabilities of a log-normal latency, truncated to buckets with mass. */
export function bucketProbabilities(model: LatencyModel): { index: number; p: number }[] {
	const out: { index: number; p: number }[] = [];
	for (let index = 0; index <= OVERFLOW; index++) {
		const [lo, hi] = bucketBounds(index);
		const cdf = (x: number) =>
			x <= 0 ? 0 : Number.isFinite(x) ? normalCdf(Math.log(x / model.median) / model.sigma) : 1;
		const p = cdf(hi) - cdf(lo);
		if (p > 1e-9) out.push({ index, p });
	}
	const total = out.reduce((s, b) => s + b.p, 0);
	return out.map((b) => ({ index: b.index, p: b.p / total }));
}

/** One minute of one variant: `requests` requests, errors at `errorRate`, latencies from `buckets`. */
export function minuteOf(
	random: Random,
	requests: number,
	errorRate: number,
	buckets: { index: number; p: number }[],
): VariantAggregate {
	const a = emptyAggregate();
	a.requests = requests;
	a.errors5xx = random.binomial(requests, errorRate);
	// Latency of every response (errors included, as the edge records 5xx latencies).
	let left = requests;
	let massLeft = 1;
	let n = 0;
	let mean = 0;
	for (const { index, p } of buckets) {
		if (left === 0) break;
		const k = massLeft <= p ? left : random.binomial(left, Math.min(1, p / massLeft));
		massLeft -= p;
		if (k === 0) continue;
		left -= k;
		a.histogram[index] = k;
		const value = bucketValue(index);
		n += k;
		mean += (k * (value - mean)) / n;
	}
	a.latency = { n, mean, m2: 0 };
	return a;
}

/** Adds `delta` into `target` in place (counts and histogram; latency mean only). */
export function accumulate(target: VariantAggregate, delta: VariantAggregate): void {
	target.requests += delta.requests;
	target.errors5xx += delta.errors5xx;
	const n = target.latency.n + delta.latency.n;
	if (n > 0)
		target.latency.mean += ((delta.latency.mean - target.latency.mean) * delta.latency.n) / n;
	target.latency.n = n;
	for (const [key, count] of Object.entries(delta.histogram)) {
		const i = Number(key);
		target.histogram[i] = (target.histogram[i] ?? 0) + count;
	}
}

/**
 * The expected aggregate of `requests` requests with `errors` errors and
 * log-normal latencies (counts rounded per bucket): deterministic, for seeding
 * tests and the bench.
 */
export function expectedAggregate(
	requests: number,
	errors: number,
	model: LatencyModel,
): VariantAggregate {
	const a = emptyAggregate();
	a.requests = requests;
	a.errors5xx = errors;
	let n = 0;
	let mean = 0;
	for (const { index, p } of bucketProbabilities(model)) {
		const k = Math.round(p * requests);
		if (k === 0) continue;
		a.histogram[index] = k;
		n += k;
		mean += (k * (bucketValue(index) - mean)) / n;
	}
	a.latency = { n, mean, m2: n * (model.median * model.sigma) ** 2 };
	return a;
}
