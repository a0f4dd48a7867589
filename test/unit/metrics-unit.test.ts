import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	addObservation,
	emptyAggregate,
	mergeAggregates,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import { PendingBatch } from "../../src/metrics/batch";
import {
	addToHistogram,
	alignHistograms,
	bucketBounds,
	bucketIndex,
	GAMMA,
	type Histogram,
	histogramBins,
	histogramCount,
	histogramQuantile,
	mergeHistograms,
	OVERFLOW,
} from "../../src/metrics/histogram";
import type { Observation } from "../../src/metrics/observation";

describe("log-bucket histogram", () => {
	it("has a few hundred buckets and reaches 60 s", () => {
		expect(OVERFLOW).toBeGreaterThan(200);
		expect(OVERFLOW).toBeLessThan(500);
		expect(bucketIndex(60_000)).toBeLessThan(OVERFLOW);
		expect(bucketIndex(0.05)).toBe(0);
		expect(bucketIndex(Number.NaN)).toBe(0);
		expect(bucketIndex(1e9)).toBe(OVERFLOW);
	});

	it("puts every value in [0.1 ms, 60 s] inside its bucket's bounds", () => {
		fc.assert(
			fc.property(fc.double({ min: 0.1, max: 60_000, noNaN: true }), (ms) => {
				const [lo, hi] = bucketBounds(bucketIndex(ms));
				expect(ms).toBeGreaterThanOrEqual(lo * (1 - 1e-12));
				expect(ms).toBeLessThan(hi * (1 + 1e-12));
			}),
		);
	});

	it("estimates quantiles within one bucket (4 %) of the sample's order statistic x₍⌈qn⌉₎", () => {
		fc.assert(
			fc.property(
				fc.array(fc.double({ min: 0.1, max: 60_000, noNaN: true }), {
					minLength: 1,
					maxLength: 400,
				}),
				fc.constantFrom(0.5, 0.9, 0.95, 0.99, 0, 1),
				(values, q) => {
					const histogram: Histogram = {};
					for (const v of values) addToHistogram(histogram, v);
					const sorted = [...values].sort((a, b) => a - b);
					const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
					const estimate = histogramQuantile(histogram, q);
					expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(GAMMA - 1 + 1e-9);
				},
			),
			{ numRuns: 300 },
		);
	});

	it("interpolates within a bucket, so the estimate moves with the data instead of jumping by a bucket", () => {
		const histogram: Histogram = {};
		for (let i = 0; i < 100; i++) addToHistogram(histogram, 100);
		const [lower, upper] = bucketBounds(bucketIndex(100));
		expect(histogramQuantile(histogram, 0.5)).toBeCloseTo(lower + (upper - lower) * 0.5, 9);
		expect(histogramQuantile(histogram, 0.95)).toBeCloseTo(lower + (upper - lower) * 0.95, 9);
	});

	it("aligns histograms on one dense layout from the lowest to the highest bucket used", () => {
		const a: Histogram = {};
		const b: Histogram = {};
		addToHistogram(a, 10, 3);
		addToHistogram(b, 12, 2);
		const aligned = alignHistograms([a, b]);
		expect(aligned.first).toBe(bucketIndex(10));
		expect(aligned.layout).toHaveLength(bucketIndex(12) - bucketIndex(10) + 1);
		expect([...(aligned.counts[0] ?? [])].reduce((x, y) => x + y, 0)).toBe(3);
		expect(aligned.counts[1]?.[bucketIndex(12) - bucketIndex(10)]).toBe(2);
		expect(aligned.layout[0]?.lower).toBeCloseTo(bucketBounds(bucketIndex(10))[0], 12);
	});

	it("merges by adding counts", () => {
		const a: Histogram = {};
		const b: Histogram = {};
		for (const v of [1, 2, 3]) addToHistogram(a, v);
		for (const v of [3, 400]) addToHistogram(b, v);
		const merged = mergeHistograms(a, b);
		expect(histogramCount(merged)).toBe(5);
		expect(merged[bucketIndex(3)]).toBe(2);
		expect(histogramBins(merged).map((bin) => bin.count)).toEqual([1, 1, 2, 1]);
	});

	it("reports 0 for an empty histogram", () => {
		expect(histogramQuantile({}, 0.95)).toBe(0);
	});
});

const observation = fc.record<Observation>({
	deployment: fc.constant("d"),
	variant: fc.constantFrom("champion", "candidate", "shadow"),
	threshold: fc.constantFrom(0, 500),
	epoch: fc.constantFrom(0, 1_764_000_000_000),
	time: fc.integer({ min: 0, max: 10 * 60_000 }),
	outcome: fc.constantFrom("ok", "ok", "ok", "http_5xx", "timeout", "network"),
	status: fc.constant(200),
	latencyMs: fc.double({ min: 0.1, max: 5_000, noNaN: true }),
	fallback: fc.boolean(),
});

function aggregateOf(observations: Observation[]): VariantAggregate {
	const a = emptyAggregate();
	for (const o of observations) addObservation(a, o);
	return a;
}

function expectSameAggregate(x: VariantAggregate, y: VariantAggregate) {
	const { latency: lx, histogram: hx, ...cx } = x;
	const { latency: ly, histogram: hy, ...cy } = y;
	expect(cx).toEqual(cy);
	expect(hx).toEqual(hy);
	expect(lx.n).toBe(ly.n);
	expect(Math.abs(lx.mean - ly.mean)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ly.mean)));
	expect(Math.abs(lx.m2 - ly.m2)).toBeLessThanOrEqual(1e-7 * Math.max(1, ly.m2));
}

describe("variant aggregates", () => {
	const observations = fc.array(observation, { maxLength: 40 });

	it("merging equals aggregating the concatenated observations", () => {
		fc.assert(
			fc.property(observations, observations, (xs, ys) => {
				expectSameAggregate(
					mergeAggregates(aggregateOf(xs), aggregateOf(ys)),
					aggregateOf([...xs, ...ys]),
				);
			}),
		);
	});

	it("merging is associative and commutative", () => {
		fc.assert(
			fc.property(observations, observations, observations, (xs, ys, zs) => {
				const [a, b, c] = [aggregateOf(xs), aggregateOf(ys), aggregateOf(zs)];
				expectSameAggregate(
					mergeAggregates(mergeAggregates(a, b), c),
					mergeAggregates(a, mergeAggregates(c, b)),
				);
			}),
		);
	});

	it("counts errors by kind; a timeout is a latency of at least the timeout, a network failure none", () => {
		const a = aggregateOf([
			{
				deployment: "d",
				variant: "candidate",
				threshold: 0,
				epoch: 0,
				time: 0,
				outcome: "timeout",
				status: 0,
				latencyMs: 3000,
				fallback: true,
			},
			{
				deployment: "d",
				variant: "candidate",
				threshold: 0,
				epoch: 0,
				time: 0,
				outcome: "http_5xx",
				status: 503,
				latencyMs: 10,
				fallback: true,
			},
			{
				deployment: "d",
				variant: "candidate",
				threshold: 0,
				epoch: 0,
				time: 0,
				outcome: "ok",
				status: 200,
				latencyMs: 20,
				fallback: false,
			},
			{
				deployment: "d",
				variant: "candidate",
				threshold: 0,
				epoch: 0,
				time: 0,
				outcome: "network",
				status: 0,
				latencyMs: 2,
				fallback: true,
			},
		]);
		expect(a).toMatchObject({
			requests: 4,
			timeouts: 1,
			errors5xx: 1,
			networkErrors: 1,
			fallbacks: 3,
		});
		expect(a.latency.n).toBe(3);
		expect(a.latency.mean).toBeCloseTo((3000 + 10 + 20) / 3, 12);
		expect(histogramCount(a.histogram)).toBe(3);
		expect(a.histogram[bucketIndex(3000)]).toBe(1);
	});

	it("makes a candidate whose requests time out look slow, not fast", () => {
		const timedOut = (latencyMs: number): Observation => ({
			deployment: "d",
			variant: "candidate",
			threshold: 0,
			epoch: 0,
			time: 0,
			outcome: latencyMs >= 1000 ? "timeout" : "ok",
			status: latencyMs >= 1000 ? 0 : 200,
			latencyMs,
			fallback: false,
		});
		// 90 fast answers, 10 timeouts at a 1 s timeout: p95 is at the timeout.
		const a = aggregateOf([
			...Array.from({ length: 90 }, () => timedOut(50)),
			...Array.from({ length: 10 }, () => timedOut(1000)),
		]);
		expect(histogramQuantile(a.histogram, 0.95)).toBeGreaterThanOrEqual(1000 / GAMMA);
	});
});

describe("pending batches", () => {
	it("folds observations into one row per (minute, variant, threshold, epoch)", () => {
		fc.assert(
			fc.property(fc.array(observation, { maxLength: 200 }), (xs) => {
				const batch = new PendingBatch(0, 20, 1);
				for (const o of xs) batch.addObservation(o);
				const rows = batch.toShardBatch("b").rows;
				const keys = new Set(
					xs.map((o) => `${Math.floor(o.time / 60_000)}|${o.variant}|${o.threshold}|${o.epoch}`),
				);
				expect(rows.length).toBe(keys.size);
				expect(rows.reduce((s, r) => s + r.aggregate.requests, 0)).toBe(xs.length);
			}),
		);
	});

	it("keeps a batch's first shadow samples, and counts every comparison, sampled or not", () => {
		const batch = new PendingBatch(0, 3, 1);
		for (let i = 0; i < 10; i++) {
			batch.addComparison({
				// The recorder fills in a sample only while the batch wants one.
				...(i === 1 || i > 3 ? { sampled: false } : {}),
				deployment: "d",
				time: i,
				threshold: 0,
				epoch: 0,
				inputHash: String(i),
				championOutput: "",
				candidateOutput: "",
				championLatencyMs: 1,
				candidateLatencyMs: 1,
				candidateOutcome: "ok",
				agreed: i % 2 === 0,
			});
		}
		const out = batch.toShardBatch("b");
		expect(out.samples.map((s) => s.inputHash)).toEqual(["0", "2", "3"]);
		expect(out.samples[0]).not.toHaveProperty("sampled");
		expect(out.rows[0]?.aggregate).toMatchObject({ compared: 10, agreed: 5 });
	});
});
