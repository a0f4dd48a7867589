import { describe, expect, it } from "vitest";
import { createRandom } from "../../scripts/lib/random";
import {
	type CountStratum,
	countMixtureTest,
	estimateDispersion,
	type MeanStratum,
	NO_DISPERSION,
	normalSf,
	quantileOfMass,
	sequentialSrm,
	seriesDispersion,
	stratifiedDifference,
	stratifiedQuantileTest,
	twoProportionZTest,
} from "../../src/stats";
import reference from "../fixtures/count-mixture-reference.json";

const strataOf = (rows: number[][]): CountStratum[] =>
	rows.map(([events, candidate, nullShare]) => ({
		events: events as number,
		candidate: candidate as number,
		nullShare: nullShare as number,
	}));

/**
 * Reference: scipy's quad of the same integral (test/fixtures/count-mixture-reference.py).
 * Simpson's rule over 64 intervals is within 1e-4 of ln Λ (0.01 % of the e-value).
 */
describe("countMixtureTest matches the mixture integral computed by scipy", () => {
	it.each(reference.cases.map((c, i) => [i, c] as const))("case %i", (_, c) => {
		const result = countMixtureTest(strataOf(c.strata), {
			alternative: c.alternative as "greater" | "two-sided",
			alpha: 0.05,
			priorScale: c.scale,
			dispersion: { a: c.phi, kappa: 0, strata: 0 },
		});
		expect(Math.abs(result.logE - c.logE)).toBeLessThan(1e-4);
		expect(result.fixedHorizonPValue).toBeCloseTo(c.fixedHorizonPValue, 9);
		const p = Math.min(1, Math.exp(-c.logE));
		expect(Math.abs(result.pValue - p)).toBeLessThanOrEqual(1e-4 * p);
	});
});

describe("countMixtureTest", () => {
	it("has no evidence without events and keeps the previous p-value", () => {
		const r = countMixtureTest(strataOf([[0, 0, 0.05]]), {
			alternative: "greater",
			alpha: 0.05,
			previousPValue: 0.3,
		});
		expect(r.pValue).toBe(0.3);
		expect(r.insufficient).toMatch(/no events/);
		expect(Number.isFinite(r.logRatio)).toBe(true);
	});

	it("never gets below the previous look's p-value: the always-valid p-value is a running minimum", () => {
		const strata = strataOf([[20, 1, 0.05]]);
		const r = countMixtureTest(strata, {
			alternative: "greater",
			alpha: 0.05,
			previousPValue: 0.01,
		});
		expect(r.pValue).toBe(0.01);
		expect(r.rejected).toBe(true);
	});

	it("is not moved by an incident that hits both arms in the same minutes, which a pooled test blames on the candidate", () => {
		// 10 minutes at a 1 % share with 0.5 % errors in both arms (3 candidate errors in all),
		// then 10 minutes at 50 % with 2 % errors in both arms.
		const strata: CountStratum[] = [];
		for (let m = 0; m < 10; m++) {
			const candidate = m < 3 ? 1 : 0;
			strata.push({ events: 30 + candidate, candidate, nullShare: 60 / 6000 });
		}
		for (let m = 0; m < 10; m++) strata.push({ events: 120, candidate: 60, nullShare: 0.5 });
		const within = countMixtureTest(strata, { alternative: "greater", alpha: 0.05 });
		expect(within.pValue).toBeGreaterThan(0.5);
		const pooled = twoProportionZTest(
			{ successes: 300 + 600, n: 59_400 + 30_000 },
			{ successes: 3 + 600, n: 600 + 30_000 },
		);
		expect(pooled.statistic).toBeGreaterThan(5);
	});

	it("rejects a true null at most α of the time over 60 looks, with shares and rates changing (seed 7)", () => {
		const random = createRandom(7);
		const runs = 400;
		let rejected = 0;
		for (let run = 0; run < runs; run++) {
			const strata: CountStratum[] = [];
			let p = 1;
			for (let m = 0; m < 60; m++) {
				const share = m < 10 ? 0.01 : m < 20 ? 0.05 : m < 30 ? 0.25 : 0.5;
				const rate = m >= 15 && m < 25 ? 0.01 : 0.005;
				const nb = Math.round(6000 * share);
				const xa = random.binomial(6000 - nb, rate);
				const xb = random.binomial(nb, rate);
				strata.push({ events: xa + xb, candidate: xb, nullShare: nb / 6000 });
				p = countMixtureTest(strata, {
					alternative: "greater",
					alpha: 0.05,
					dispersion: NO_DISPERSION,
					previousPValue: p,
				}).pValue;
			}
			if (p <= 0.05) rejected++;
		}
		expect(rejected / runs).toBeLessThanOrEqual(0.05);
	});

	it("catches a doubled error rate within an hour of the reference schedule (seed 8)", () => {
		const random = createRandom(8);
		let caught = 0;
		for (let run = 0; run < 100; run++) {
			const strata: CountStratum[] = [];
			for (let m = 0; m < 30; m++) {
				const share = m < 10 ? 0.01 : m < 15 ? 0.05 : 0.25;
				const nb = Math.round(6000 * share);
				const xa = random.binomial(6000 - nb, 0.005);
				const xb = random.binomial(nb, 0.01);
				strata.push({ events: xa + xb, candidate: xb, nullShare: nb / 6000 });
			}
			if (countMixtureTest(strata, { alternative: "greater", alpha: 0.025 }).rejected) caught++;
		}
		expect(caught).toBeGreaterThanOrEqual(95);
	});

	it("widens with the dispersion: the quasi-likelihood ℓ/φ is weaker evidence", () => {
		const strata = strataOf([[40, 22, 0.25]]);
		const exact = countMixtureTest(strata, {
			alternative: "greater",
			alpha: 0.05,
			dispersion: NO_DISPERSION,
		});
		const wide = countMixtureTest(strata, {
			alternative: "greater",
			alpha: 0.05,
			dispersion: { a: 3, kappa: 0, strata: 0 },
		});
		expect(wide.logE).toBeLessThan(exact.logE);
		expect(wide.se).toBeCloseTo(exact.se * Math.sqrt(3), 9);
	});
});

describe("overdispersion", () => {
	it("recovers a and κ from Pearson residuals drawn with a known variance (seed 11)", () => {
		const random = createRandom(11);
		const points = [];
		for (let i = 0; i < 4000; i++) {
			const h = [0.3, 1.5, 5, 8][i % 4] as number;
			const phi = 2 + 0.5 * h;
			const z = random.normal();
			points.push({ r2: phi * z * z, h });
		}
		const d = estimateDispersion(points);
		expect(d.a).toBeGreaterThan(1.7);
		expect(d.a).toBeLessThan(2.3);
		expect(d.kappa).toBeGreaterThan(0.42);
		expect(d.kappa).toBeLessThan(0.58);
	});

	it("stays at (1, 0) on data without dispersion, and at the prior with too few strata", () => {
		const random = createRandom(12);
		const points = Array.from({ length: 2000 }, (_, i) => ({
			r2: random.normal() ** 2,
			h: [0.5, 4][i % 2] as number,
		}));
		const d = estimateDispersion(points);
		expect(d.a).toBeLessThan(1.1);
		expect(d.kappa).toBeLessThan(0.02);
		expect(estimateDispersion(points.slice(0, 2), { priorA: 2 })).toEqual({
			a: 2,
			kappa: 0,
			strata: 2,
		});
	});

	it("measures a series' minute-to-minute dispersion: E[(X_t − X_{t−1})²] / E[X_t + X_{t−1}]", () => {
		// Alternating 20, 40: every squared difference is 400 against a sum of 60.
		const series = Array.from({ length: 8 }, (_, i) => (i % 2 ? 40 : 20));
		const anchor = seriesDispersion(series);
		expect(anchor?.r2).toBeCloseTo(400 / 60, 12);
		expect(anchor?.h).toBeCloseTo(15, 12);
		expect(anchor?.weight).toBe(7);
		expect(seriesDispersion([3, 4])).toBeNull();
	});

	it("reads clustered Poisson counts as an index of dispersion near E[S²]/E[S] (seed 13)", () => {
		const random = createRandom(13);
		// Clusters of geometric size with mean 2: E[S²]/E[S] = 3.
		const series = Array.from({ length: 600 }, () => {
			let x = 0;
			for (let c = random.poisson(15); c > 0; c--) x += random.geometric(0.5);
			return x;
		});
		const anchor = seriesDispersion(series);
		expect(anchor?.r2).toBeGreaterThan(2.5);
		expect(anchor?.r2).toBeLessThan(3.5);
	});
});

const moments = (n: number, mean: number, sd: number) => ({ n, mean, m2: (n - 1) * sd * sd });

describe("stratifiedDifference", () => {
	it("is the plain difference with the pooled within-minute variances for one minute", () => {
		const d = stratifiedDifference([{ a: moments(1000, 10, 2), b: moments(250, 10.5, 3) }]);
		expect(d.estimate).toBeCloseTo(0.5, 12);
		expect(d.variance).toBeCloseTo(4 / 1000 + 9 / 250, 12);
		expect(d.n).toBeCloseTo((4 * 6.5) / (4 / 1000 + 9 / 250), 6);
		expect(d.championVariance + d.candidateVariance).toBeCloseTo(d.variance, 15);
	});

	it("weights minutes by 1/(σa²/na + σb²/nb) (exact two-minute example)", () => {
		const strata: MeanStratum[] = [
			{ a: moments(900, 10, 1), b: moments(100, 11, 1) },
			{ a: moments(500, 20, 1), b: moments(500, 20.4, 1) },
		];
		const w1 = 1 / (1 / 900 + 1 / 100);
		const w2 = 1 / (1 / 500 + 1 / 500);
		const d = stratifiedDifference(strata, { dispersion: NO_DISPERSION });
		expect(d.estimate).toBeCloseTo((w1 * 1 + w2 * 0.4) / (w1 + w2), 12);
		expect(d.variance).toBeCloseTo(1 / (w1 + w2), 12);
	});

	it("does not blame the candidate for a change over time (Simpson's paradox)", () => {
		// Both arms identical within each minute; the candidate has most of its traffic in the slow minute.
		const strata: MeanStratum[] = [
			{ a: moments(9900, 100, 20), b: moments(100, 100, 20) },
			{ a: moments(5000, 200, 20), b: moments(5000, 200, 20) },
		];
		expect(stratifiedDifference(strata).estimate).toBeCloseTo(0, 12);
		const pooledA = (9900 * 100 + 5000 * 200) / 14_900;
		const pooledB = (100 * 100 + 5000 * 200) / 5100;
		expect(pooledB - pooledA).toBeGreaterThan(60);
	});

	it("says what it lacks instead of returning NaN", () => {
		const d = stratifiedDifference([{ a: moments(1, 3, 0), b: moments(1, 4, 0) }]);
		expect(d.insufficient).toBeDefined();
		expect(Number.isFinite(d.estimate) && Number.isFinite(d.variance)).toBe(true);
	});
});

const layout = Array.from({ length: 200 }, (_, i) => ({ lower: i, upper: i + 1 }));

describe("quantiles within time", () => {
	it("quantileOfMass interpolates within a bin, from 0 to the top", () => {
		const mass = layout.map(() => 1);
		expect(quantileOfMass(layout, mass, 0.5)).toBeCloseTo(100, 12);
		expect(quantileOfMass(layout, mass, 0.95)).toBeCloseTo(190, 12);
		expect(quantileOfMass(layout, mass, 1)).toBe(200);
		expect(quantileOfMass(layout, [], 0.5)).toBe(0);
	});

	it("standardises the champion to the candidate's minutes: the same per-minute distributions compare as equal", () => {
		const fast = layout.map((_, i) => (i < 100 ? 10 : 0));
		const slow = layout.map((_, i) => (i >= 100 ? 10 : 0));
		const scale = (xs: number[], k: number) => xs.map((x) => x * k);
		// The champion is mostly in the fast minute, the candidate mostly in the slow one.
		const strata = [
			{ a: scale(fast, 99), b: scale(fast, 1) },
			{ a: scale(slow, 10), b: scale(slow, 90) },
		];
		const test = stratifiedQuantileTest(layout, strata, 0.95);
		expect(test.logRatio).toBeCloseTo(0, 12);
		expect(test.candidate.estimate).toBeCloseTo(100 + (0.95 * 91_000 - 1000) / 900, 9);
	});

	it("sees a tail-only regression and its size on the log scale", () => {
		const base = layout.map((_, i) => (i < 100 ? 10 : 0));
		const tail = layout.map((_, i) => (i < 90 ? 10 : i < 100 ? 0 : i < 130 ? 10 / 3 : 0));
		const test = stratifiedQuantileTest(
			layout,
			[{ a: base.map((x) => x * 10), b: tail.map((x) => x * 10) }],
			0.95,
		);
		expect(test.candidate.estimate).toBeGreaterThan(test.champion.estimate * 1.2);
		expect(test.logRatio).toBeCloseTo(
			Math.log(test.candidate.estimate / test.champion.estimate),
			12,
		);
		expect(test.logRatio / test.se).toBeGreaterThan(5);
	});
});

describe("sequential sample-ratio test", () => {
	const split = (total: number, share: number, minutes: number) =>
		Array.from({ length: minutes }, () => ({
			champion: Math.round((total * (1 - share)) / minutes),
			candidate: Math.round((total * share) / minutes),
		}));

	it("flags a 48/52 split of 100,000 requests configured as 50/50", () => {
		const r = sequentialSrm(split(100_000, 0.52, 10), 0.5, { alpha: 0.001 });
		expect(r.mismatch).toBe(true);
		expect(r.pValue).toBeLessThan(1e-6);
		expect(r.observedShare).toBeCloseTo(0.52, 6);
	});

	it("does not flag a split that matches its configuration", () => {
		expect(sequentialSrm(split(10_000, 0.05, 10), 0.05, { alpha: 0.001 }).mismatch).toBe(false);
	});

	it("holds its α over 30 looks when the split is right (seed 21)", () => {
		const random = createRandom(21);
		let flagged = 0;
		for (let run = 0; run < 300; run++) {
			const minutes: { champion: number; candidate: number }[] = [];
			let p = 1;
			for (let m = 0; m < 30; m++) {
				const candidate = random.binomial(3000, 0.05);
				minutes.push({ champion: 3000 - candidate, candidate });
				p = sequentialSrm(minutes, 0.05, { alpha: 0.05, previousPValue: p }).pValue;
			}
			if (p <= 0.05) flagged++;
		}
		expect(flagged / 300).toBeLessThanOrEqual(0.05);
	});
});

describe("fixed-horizon score test", () => {
	it("is the normal upper tail of Σ(X − Eθ0)/√ΣEθ0(1 − θ0)", () => {
		const r = countMixtureTest(strataOf([[100, 20, 0.1]]), {
			alternative: "greater",
			alpha: 0.05,
			dispersion: NO_DISPERSION,
		});
		expect(r.fixedHorizonPValue).toBeCloseTo(normalSf(10 / 3), 12);
	});
});
