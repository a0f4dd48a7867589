import { describe, expect, it } from "vitest";
import { createRandom } from "../../scripts/lib/random";
import {
	effectiveSampleSize,
	emptyMoments,
	type Moments,
	mergeMoments,
	sampleVariance,
	sequentialTest,
	welchTTest,
} from "../../src/stats";

const ALPHA = 0.05;
const EXPERIMENTS = 600;
const LOOKS = 100;
const BATCH = 50;

/** Moments of `m` normal values drawn as sufficient statistics (mean and M2). */
function drawBatch(
	random: ReturnType<typeof createRandom>,
	mean: number,
	sd: number,
	m: number,
): Moments {
	return {
		n: m,
		mean: mean + (sd / Math.sqrt(m)) * random.normal(),
		m2: sd * sd * random.chiSquare(m - 1),
	};
}

/** Runs A/B experiments with 100 looks each and counts how many ever reject. */
function simulate(effect: number, seed: number) {
	const random = createRandom(seed);
	let fixedEver = 0;
	let sequentialEver = 0;
	let sequentialTwoSidedEver = 0;
	for (let e = 0; e < EXPERIMENTS; e++) {
		let a = emptyMoments();
		let b = emptyMoments();
		let fixed = false;
		let pGreater = 1;
		let pTwo = 1;
		for (let look = 0; look < LOOKS; look++) {
			a = mergeMoments(a, drawBatch(random, 100, 20, BATCH));
			b = mergeMoments(b, drawBatch(random, 100 + effect, 20, BATCH));
			const welch = welchTTest(
				{ mean: a.mean, variance: sampleVariance(a), n: a.n },
				{ mean: b.mean, variance: sampleVariance(b), n: b.n },
			);
			if (welch.pValue < ALPHA) fixed = true;
			const base = {
				estimate: welch.difference,
				variance: welch.se ** 2,
				n: effectiveSampleSize(a.n, b.n),
				alpha: ALPHA,
			};
			pGreater = sequentialTest({
				...base,
				alternative: "greater",
				previousPValue: pGreater,
			}).pValue;
			pTwo = sequentialTest({ ...base, previousPValue: pTwo }).pValue;
		}
		if (fixed) fixedEver++;
		if (pGreater <= ALPHA) sequentialEver++;
		if (pTwo <= ALPHA) sequentialTwoSidedEver++;
	}
	return {
		fixed: fixedEver / EXPERIMENTS,
		greater: sequentialEver / EXPERIMENTS,
		twoSided: sequentialTwoSidedEver / EXPERIMENTS,
	};
}

// Monte Carlo standard error of a rate near α over 600 runs ≈ 0.009.
const MC_SLACK = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / EXPERIMENTS);

describe("sequential (always-valid) inference under repeated looks", () => {
	it("keeps the A/A false positive rate at or below α over 100 looks, where a fixed-horizon test peeked at every look does not", () => {
		const rates = simulate(0, 42);
		expect(rates.twoSided).toBeLessThanOrEqual(ALPHA + MC_SLACK);
		expect(rates.greater).toBeLessThanOrEqual(ALPHA + MC_SLACK);
		expect(rates.fixed).toBeGreaterThan(3 * ALPHA);
	});

	it("detects a real effect with high probability", () => {
		// 0.1 sd effect: a fixed-horizon test on all 5,000 per arm has ~99.9 % power.
		const rates = simulate(2, 7);
		expect(rates.greater).toBeGreaterThan(0.9);
		expect(rates.twoSided).toBeGreaterThan(0.85);
	});

	it("reports the running minimum: a later look never raises the p-value", () => {
		const first = sequentialTest({ estimate: 5, variance: 1, n: 5000 });
		const second = sequentialTest({
			estimate: 0,
			variance: 1,
			n: 6000,
			previousPValue: first.pValue,
		});
		expect(first.pValue).toBeLessThan(0.01);
		expect(second.pValue).toBe(first.pValue);
	});

	it("rejects a one-sided test only in its direction", () => {
		const worse = sequentialTest({ estimate: 10, variance: 1, n: 5000, alternative: "greater" });
		const better = sequentialTest({ estimate: -10, variance: 1, n: 5000, alternative: "greater" });
		expect(worse.rejected).toBe(true);
		expect(better.rejected).toBe(false);
		expect(better.pValue).toBe(1);
		expect(worse.ci[1]).toBeNull();
		expect(worse.ci[0]).toBeGreaterThan(0);
	});

	it("its confidence sequence excludes the null exactly when it rejects", () => {
		for (const estimate of [0.5, 2, 2.9, 3.1, 4, 8]) {
			const r = sequentialTest({ estimate, variance: 1, n: 5000 });
			const lower = r.ci[0] ?? Number.NEGATIVE_INFINITY;
			expect(lower > 0).toBe(r.rejected);
		}
	});

	it("is wider than the fixed-horizon interval (the price of peeking)", () => {
		const r = sequentialTest({ estimate: 0, variance: 1, n: 5000 });
		expect(r.ci[1] ?? 0).toBeGreaterThan(1.96);
	});

	it("returns a defined 'insufficient' result without variance", () => {
		const r = sequentialTest({ estimate: 1, variance: 0, n: 0, previousPValue: 0.3 });
		expect(r.pValue).toBe(0.3);
		expect(r.insufficient).toBeDefined();
	});
});
