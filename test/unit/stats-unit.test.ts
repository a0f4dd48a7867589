import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRandom } from "../../scripts/lib/random";
import {
	type Bin,
	binnedQuantile,
	chiSquareSf,
	mannWhitneyBuckets,
	mergeMoments,
	momentsOf,
	moreSamplesNeeded,
	normalSf,
	nullVarianceOfDifference,
	quantileInterval,
	quantileShiftTest,
	requiredSampleSize,
	sampleVariance,
	srmCheck,
	srmTest,
	twoProportionZTest,
	welchTTest,
	wilsonInterval,
} from "../../src/stats";

const finite = (x: number) => Number.isFinite(x);

describe("degenerate inputs give defined results, never NaN", () => {
	it("Welch with fewer than two values per variant is 'insufficient'", () => {
		const r = welchTTest({ mean: 1, variance: 0, n: 1 }, { mean: 2, variance: 1, n: 10 });
		expect(r.insufficient).toMatch(/at least 2/);
		expect(r.pValue).toBe(1);
		expect([r.statistic, r.df].every(finite)).toBe(true);
	});

	it("Welch with zero variance in both variants is 'insufficient'", () => {
		const r = welchTTest({ mean: 1, variance: 0, n: 10 }, { mean: 1, variance: 0, n: 10 });
		expect(r.insufficient).toMatch(/zero variance/);
		expect(r.pValue).toBe(1);
	});

	it("two proportions with zero successes on both sides: no difference, p = 1", () => {
		const r = twoProportionZTest({ successes: 0, n: 100 }, { successes: 0, n: 50 });
		expect(r.statistic).toBe(0);
		expect(r.pValue).toBe(1);
		expect(r.relative).toBeNull();
	});

	it("two proportions with an empty variant is 'insufficient'", () => {
		expect(
			twoProportionZTest({ successes: 0, n: 0 }, { successes: 3, n: 5 }).insufficient,
		).toBeDefined();
	});

	it("Mann–Whitney with everything in one bucket is 'insufficient' with p = 1", () => {
		const r = mannWhitneyBuckets([0, 40, 0], [0, 25, 0]);
		expect(r.pValue).toBe(1);
		expect(r.u).toBe(500);
		expect(r.insufficient).toMatch(/tied/);
	});

	it("Mann–Whitney with an empty variant is 'insufficient'", () => {
		expect(mannWhitneyBuckets([1, 2], [0, 0]).insufficient).toBeDefined();
	});

	it("SRM with no units passes", () => {
		expect(srmTest([0, 0], [1, 1]).pValue).toBe(1);
	});

	it("p-values stay in [0, 1] for extreme statistics", () => {
		const r = welchTTest(
			{ mean: 0, variance: 1e-12, n: 1e6 },
			{ mean: 1e6, variance: 1e-12, n: 1e6 },
		);
		expect(r.pValue).toBe(0);
		// Reference (mpmath, 40 digits): Φ(−37) = 5.725571222524577e-300; Φ(−40) = 3.66e-350 is below
		// the smallest double (4.9e-324), so the nearest double is 0.
		expect(Math.abs(normalSf(37) / 5.725571222524577e-300 - 1)).toBeLessThan(1e-9);
		expect(normalSf(40)).toBe(0);
		expect(normalSf(-40)).toBe(1);
		expect(chiSquareSf(1e6, 3)).toBe(0);
	});
});

describe("tail precision", () => {
	it("the normal upper tail is accurate far beyond 1e-16 (no 1 − cdf)", () => {
		// Reference: scipy.stats.norm.sf(10) = 7.619853024160527e-24
		// Two-sided relative check: a tail of 0 (the 1 − cdf failure) is off by 100 % and fails.
		expect(Math.abs(normalSf(10) / 7.619853024160527e-24 - 1)).toBeLessThan(1e-9);
		// scipy.stats.norm.sf(7.0) = 1.279812543885835e-12
		expect(Math.abs(normalSf(7) / 1.279812543885835e-12 - 1)).toBeLessThan(1e-9);
	});

	it("the χ² upper tail is accurate for small p", () => {
		// scipy.stats.chi2.sf(60, 2) = exp(-30)
		expect(Math.abs(chiSquareSf(60, 2) / Math.exp(-30) - 1)).toBeLessThan(1e-12);
	});
});

describe("confidence intervals", () => {
	it("Welch's interval is centred on b − a and matches its p-value at the boundary", () => {
		const r = welchTTest({ mean: 10, variance: 4, n: 50 }, { mean: 11, variance: 9, n: 60 });
		const [lo, hi] = r.ci as [number, number];
		expect((lo + hi) / 2).toBeCloseTo(1, 12);
		// 0 lies outside the 95 % interval exactly when p < 0.05.
		expect(lo > 0).toBe(r.pValue < 0.05);
		expect(r.relative?.estimate).toBeCloseTo(0.1, 12);
	});

	it("the relative difference interval covers the truth at about the nominal rate", () => {
		let covered = 0;
		const random = createRandom(12345);
		for (let i = 0; i < 2000; i++) {
			const n = 400;
			const ma = 100 + (10 / Math.sqrt(n)) * random.normal();
			const mb = 110 + (10 / Math.sqrt(n)) * random.normal();
			const relative = welchTTest(
				{ mean: ma, variance: 100, n },
				{ mean: mb, variance: 100, n },
			).relative;
			if (!relative) throw new Error("expected a relative difference");
			const [lo, hi] = relative.ci as [number, number];
			if (lo <= 0.1 && 0.1 <= hi) covered++;
		}
		expect(covered / 2000).toBeGreaterThan(0.93);
		expect(covered / 2000).toBeLessThan(0.97);
	});

	it("the proportion interval is unpooled and centred on pb − pa", () => {
		const r = twoProportionZTest({ successes: 50, n: 1000 }, { successes: 80, n: 1000 });
		const [lo, hi] = r.ci as [number, number];
		expect((lo + hi) / 2).toBeCloseTo(0.03, 12);
		const se = Math.sqrt((0.05 * 0.95) / 1000 + (0.08 * 0.92) / 1000);
		expect(hi - lo).toBeCloseTo(2 * 1.959963984540054 * se, 6);
	});

	it("Wilson's interval stays inside [0, 1] and contains the estimate", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 10_000 }),
				fc.double({ min: 0, max: 1, noNaN: true }),
				(n, share) => {
					const successes = Math.floor(n * share);
					const [lo, hi] = wilsonInterval({ successes, n }) as [number, number];
					expect(lo).toBeGreaterThanOrEqual(0);
					expect(hi).toBeLessThanOrEqual(1);
					expect(lo).toBeLessThanOrEqual(successes / n + 1e-12);
					expect(hi).toBeGreaterThanOrEqual(successes / n - 1e-12);
				},
			),
		);
	});

	it("the null variance of a difference is the pooled variance when the margin is 0", () => {
		const a = { successes: 30, n: 1000 };
		const b = { successes: 10, n: 200 };
		const pooled = 40 / 1200;
		expect(nullVarianceOfDifference(a, b)).toBeCloseTo(
			pooled * (1 - pooled) * (1 / 1000 + 1 / 200),
			15,
		);
	});
});

describe("SRM check", () => {
	it("flags a 48/52 split of 100,000 units configured as 50/50", () => {
		const r = srmCheck([48_000, 52_000], [50, 50]);
		expect(r.mismatch).toBe(true);
		expect(r.pValue).toBeLessThan(1e-10);
	});

	it("does not flag a split that matches its configuration", () => {
		expect(srmCheck([9_510, 490], [95, 5]).mismatch).toBe(false);
	});

	it("skips arms with fewer than 8 units", () => {
		const r = srmCheck([1000, 3], [50, 50]);
		expect(r.skipped).toEqual([1]);
		expect(r.mismatch).toBe(false);
	});
});

describe("Mann–Whitney on buckets", () => {
	it("U counts the pairs where b is larger, ties counting one half", () => {
		// a = [1, 2], b = [2, 3] → pairs (1,2) (1,3) (2,3) b larger, (2,2) tie → U = 3.5
		const r = mannWhitneyBuckets([1, 1, 0], [0, 1, 1]);
		expect(r.u).toBe(3.5);
		expect(r.probabilityBGreater).toBeCloseTo(3.5 / 4, 12);
	});

	it("is antisymmetric: swapping a and b gives U = na·nb − U and the same p", () => {
		fc.assert(
			fc.property(
				fc.array(fc.nat({ max: 500 }), { minLength: 2, maxLength: 30 }),
				fc.array(fc.nat({ max: 500 }), { minLength: 2, maxLength: 30 }),
				(a, b) => {
					const na = a.reduce((s, x) => s + x, 0);
					const nb = b.reduce((s, x) => s + x, 0);
					fc.pre(na > 0 && nb > 0);
					const ab = mannWhitneyBuckets(a, b);
					const ba = mannWhitneyBuckets(b, a);
					expect(ab.u + ba.u).toBeCloseTo(na * nb, 6);
					expect(ab.pValue).toBeCloseTo(ba.pValue, 12);
				},
			),
		);
	});
});

describe("quantiles from bins", () => {
	const uniformBins: Bin[] = Array.from({ length: 100 }, (_, i) => ({
		lower: i,
		upper: i + 1,
		count: 10,
	}));

	it("interpolates inside a bin", () => {
		expect(binnedQuantile(uniformBins, 0.5)).toBeCloseTo(50, 9);
		expect(binnedQuantile(uniformBins, 0.95)).toBeCloseTo(95, 9);
	});

	it("gives an interval around the estimate that narrows with more data", () => {
		const small = quantileInterval(uniformBins, 0.95);
		const big = quantileInterval(
			uniformBins.map((b) => ({ ...b, count: b.count * 100 })),
			0.95,
		);
		const [lo, hi] = small.ci as [number, number];
		expect(lo).toBeLessThan(95);
		expect(hi).toBeGreaterThan(95);
		expect(big.se).toBeLessThan(small.se / 5);
	});

	it("the p95 shift test finds a slower candidate and not a faster one", () => {
		const slower = uniformBins.map((b) => ({
			lower: b.lower + 20,
			upper: b.upper + 20,
			count: b.count * 10,
		}));
		const base = uniformBins.map((b) => ({ ...b, count: b.count * 10 }));
		expect(quantileShiftTest(base, slower, { margin: 5 }).pValue).toBeLessThan(1e-6);
		expect(quantileShiftTest(slower, base, { margin: 5 }).pValue).toBeGreaterThan(0.99);
		expect(quantileShiftTest(base, slower, { margin: 40 }).pValue).toBeGreaterThan(0.99);
	});
});

describe("sample sizes", () => {
	it("matches the textbook formula: 2·(1.96 + 0.84)²·σ²/δ² per arm", () => {
		const { a, b } = requiredSampleSize({ varianceA: 1, varianceB: 1, effect: 0.1 });
		expect(a).toBe(1570);
		expect(b).toBe(1570);
	});

	it("asks the small arm of an unbalanced split for fewer units than the big one", () => {
		const { a, b } = requiredSampleSize({ varianceA: 1, varianceB: 1, effect: 0.1, ratio: 0.05 });
		expect(b).toBeLessThan(a);
		expect(b).toBeGreaterThan(785);
	});

	it("says how many more units are needed, and Infinity without an effect", () => {
		expect(moreSamplesNeeded({ varianceA: 1, varianceB: 1, effect: 0.1, currentB: 1000 })).toBe(
			570,
		);
		expect(moreSamplesNeeded({ varianceA: 1, varianceB: 1, effect: 0, currentB: 1000 })).toBe(
			Number.POSITIVE_INFINITY,
		);
	});
});

describe("Welford and Chan moments", () => {
	const values = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 });

	it("merging is the same as aggregating the concatenated data", () => {
		fc.assert(
			fc.property(values, values, (xs, ys) => {
				const merged = mergeMoments(momentsOf(xs), momentsOf(ys));
				const whole = momentsOf([...xs, ...ys]);
				expect(merged.n).toBe(whole.n);
				expect(merged.mean).toBeCloseTo(whole.mean, 4);
				expect(sampleVariance(merged)).toBeCloseTo(sampleVariance(whole), -2);
				expect(Math.abs(sampleVariance(merged) - sampleVariance(whole))).toBeLessThanOrEqual(
					1e-9 * Math.max(1, sampleVariance(whole)),
				);
			}),
		);
	});

	it("merging is associative and commutative", () => {
		fc.assert(
			fc.property(values, values, values, (xs, ys, zs) => {
				const [a, b, c] = [momentsOf(xs), momentsOf(ys), momentsOf(zs)];
				const left = mergeMoments(mergeMoments(a, b), c);
				const right = mergeMoments(a, mergeMoments(c, b));
				expect(left.n).toBe(right.n);
				expect(Math.abs(left.mean - right.mean)).toBeLessThanOrEqual(
					1e-9 * Math.max(1, Math.abs(left.mean)),
				);
				expect(Math.abs(left.m2 - right.m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, left.m2));
			}),
		);
	});

	it("keeps full precision on a large offset, where the sum of squares does not", () => {
		const xs = Array.from({ length: 10_000 }, (_, i) => 1e9 + (i % 10));
		const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
		const twoPass = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
		const half = xs.length / 2;
		const welford = sampleVariance(
			mergeMoments(momentsOf(xs.slice(0, half)), momentsOf(xs.slice(half))),
		);
		expect(Math.abs(welford - twoPass) / twoPass).toBeLessThan(1e-9);
		const sum = xs.reduce((s, x) => s + x, 0);
		const sumSquares = xs.reduce((s, x) => s + x * x, 0);
		const naive = (sumSquares - (sum * sum) / xs.length) / (xs.length - 1);
		expect(Math.abs(naive - twoPass) / twoPass).toBeGreaterThan(1e-3);
	});
});

describe("exact conditional rate test", () => {
	it("matches binomial tails", async () => {
		const { binomialUpperTail, conditionalRateTest } = await import("../../src/stats");
		// P(X ≥ 3), X ~ Binomial(5, 0.2) = 1 − 0.32768 − 0.4096 − 0.2048
		expect(binomialUpperTail(3, 5, 0.2)).toBeCloseTo(0.05792, 12);
		expect(binomialUpperTail(2, 2, 0.5)).toBeCloseTo(0.25, 12);
		expect(binomialUpperTail(0, 5, 0.3)).toBe(1);
		// One error, on the candidate's 5 % of traffic: probability 0.05 under equal rates — no evidence.
		expect(conditionalRateTest({ successes: 0, n: 9500 }, { successes: 1, n: 500 })).toBeCloseTo(
			0.05,
			12,
		);
		expect(conditionalRateTest({ successes: 0, n: 9500 }, { successes: 0, n: 500 })).toBe(1);
	});
});
