/**
 * Synthetic per-minute traffic for whole rollouts, generated directly as
 * aggregates (counts, and a multinomial over the histogram's buckets for the
 * latencies) so thousands of rollouts run in seconds. A scenario
 * (scenario-file.ts) says what the traffic looks like over time; this module
 * draws one minute of one arm from it.
 */
import { emptyAggregate, type VariantAggregate } from "../../src/metrics/aggregate";
import { bucketBounds, bucketIndex, bucketValue, OVERFLOW } from "../../src/metrics/histogram";
import { normalCdf } from "../../src/stats";
import type { Random } from "../lib/random";
import type { Latency } from "./scenario-file";

export interface LatencyModel {
	/** Median latency, ms. */
	median: number;
	/** Log-scale standard deviation. */
	sigma: number;
}

export interface Bucket {
	index: number;
	p: number;
	/** The mass at or above the timeout: timeouts, recorded at the timeout. */
	timeout?: boolean;
}

function cdfOf(latency: Latency, scale: number): (x: number) => number {
	const parts =
		"mixture" in latency
			? latency.mixture
			: [{ weight: 1, median: latency.median, sigma: latency.sigma }];
	const total = parts.reduce((s, p) => s + p.weight, 0);
	return (x: number) => {
		if (x <= 0) return 0;
		if (!Number.isFinite(x)) return 1;
		let c = 0;
		for (const part of parts) {
			const median = part.median * scale;
			c +=
				(part.weight / total) *
				(part.sigma > 0 ? normalCdf(Math.log(x / median) / part.sigma) : x >= median ? 1 : 0);
		}
		return c;
	};
}

/**
 * Bucket probabilities of a latency distribution scaled by `scale`,
 * truncated to buckets with mass; with `timeoutMs`, the mass at or above it
 * is one timeout bucket.
 */
export function bucketProbabilities(
	latency: Latency,
	scale = 1,
	timeoutMs = Number.POSITIVE_INFINITY,
): Bucket[] {
	const cdf = cdfOf(latency, scale);
	const out: Bucket[] = [];
	const timeoutIndex = bucketIndex(timeoutMs);
	for (let index = 0; index <= OVERFLOW; index++) {
		const [lo, hi] = bucketBounds(index);
		if (lo >= timeoutMs) break;
		const p = cdf(Math.min(hi, timeoutMs)) - cdf(lo);
		if (p > 1e-9) out.push({ index, p });
	}
	const late = Number.isFinite(timeoutMs) ? 1 - cdf(timeoutMs) : 0;
	if (late > 1e-9) out.push({ index: timeoutIndex, p: late, timeout: true });
	const total = out.reduce((s, b) => s + b.p, 0);
	return out.map((b) => ({ ...b, p: b.p / total }));
}

/**
 * Draws the latencies of `requests` responses into `a` (histogram, moments,
 * timeouts), as a multinomial over `buckets`.
 */
export function drawLatencies(
	random: Random,
	a: VariantAggregate,
	requests: number,
	buckets: readonly Bucket[],
): void {
	let left = requests;
	let massLeft = 1;
	let { n, mean, m2 } = a.latency;
	for (const { index, p, timeout } of buckets) {
		if (left === 0) break;
		const k = massLeft <= p ? left : random.binomial(left, Math.min(1, p / massLeft));
		massLeft -= p;
		if (k === 0) continue;
		left -= k;
		a.histogram[index] = (a.histogram[index] ?? 0) + k;
		if (timeout) a.timeouts += k;
		// Chan's merge of k equal values.
		const value = bucketValue(index);
		const total = n + k;
		const delta = value - mean;
		mean += (delta * k) / total;
		m2 += (delta * delta * n * k) / total;
		n = total;
	}
	a.latency = { n, mean, m2 };
}

/**
 * Errors among `requests` at `rate`: independent (binomial), or in clusters
 * of mean size `clusterSize` (a Poisson number of clusters, geometric sizes),
 * at most `requests`.
 */
export function drawErrors(
	random: Random,
	requests: number,
	rate: number,
	clusterSize: number,
): number {
	if (requests <= 0 || rate <= 0) return 0;
	if (clusterSize <= 1) return random.binomial(requests, Math.min(1, rate));
	const clusters = random.poisson((requests * rate) / clusterSize);
	let errors = 0;
	for (let i = 0; i < clusters; i++) errors += random.geometric(1 / clusterSize);
	return Math.min(requests, errors);
}

/** One minute of one variant: `requests` requests, errors at `errorRate`, latencies from `buckets`. */
export function minuteOf(
	random: Random,
	requests: number,
	errorRate: number,
	buckets: readonly Bucket[],
): VariantAggregate {
	const a = emptyAggregate();
	a.requests = requests;
	a.errors5xx = random.binomial(requests, errorRate);
	drawLatencies(random, a, requests, buckets);
	return a;
}

/** Adds `delta` into `target` in place (counts and histogram; latency mean only). */
export function accumulate(target: VariantAggregate, delta: VariantAggregate): void {
	target.requests += delta.requests;
	target.errors5xx += delta.errors5xx;
	target.timeouts += delta.timeouts;
	const n = target.latency.n + delta.latency.n;
	if (n > 0)
		target.latency.mean += ((delta.latency.mean - target.latency.mean) * delta.latency.n) / n;
	target.latency.n = n;
	for (const key in delta.histogram) {
		const i = Number(key);
		target.histogram[i] = (target.histogram[i] ?? 0) + (delta.histogram[i] ?? 0);
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
