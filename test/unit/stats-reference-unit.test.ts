import { describe, expect, it } from "vitest";
import { mannWhitneyBuckets, srmTest, twoProportionZTest, welchTTest } from "../../src/stats";
import reference from "../fixtures/stats-reference.json";

/**
 * The shared scipy reference (test/fixtures/stats-reference.json is a copy of
 * ../shared/fixtures/stats-reference.json): p-values within 1e-6 absolute and
 * 1e-4 relative (relative only for p ≥ 1e-12), statistics and df within 1e-6
 * relative.
 */
function expectPValue(actual: number, expected: number) {
	expect(actual).not.toBeNaN();
	expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6);
	if (expected >= 1e-12) expect(Math.abs(actual - expected) / expected).toBeLessThanOrEqual(1e-4);
}

function expectRelative(actual: number, expected: number, tolerance = 1e-6) {
	expect(actual).not.toBeNaN();
	const scale = Math.max(Math.abs(expected), 1e-300);
	expect(Math.abs(actual - expected) / scale).toBeLessThanOrEqual(tolerance);
}

describe("welchTTest matches scipy.stats.ttest_ind_from_stats(b, a, equal_var=False)", () => {
	it.each(reference.welch.map((c, i) => [i, c] as const))("case %i", (_, c) => {
		const result = welchTTest(c.a, c.b);
		expectRelative(result.statistic, c.statistic);
		expectRelative(result.df, c.df);
		expectPValue(result.pValue, c.pValue);
	});
});

describe("twoProportionZTest matches the pooled two-sided z-test", () => {
	it.each(reference.twoProportion.map((c, i) => [i, c] as const))("case %i", (_, c) => {
		const result = twoProportionZTest(c.a, c.b);
		expectRelative(result.statistic, c.statistic);
		expectPValue(result.pValue, c.pValue);
	});
});

describe("srmTest matches scipy.stats.chisquare", () => {
	it.each(reference.srm.map((c, i) => [i, c] as const))("case %i", (_, c) => {
		const result = srmTest(c.observed, c.expectedWeights);
		expectRelative(result.statistic, c.statistic);
		expect(result.df).toBe(c.df);
		expectPValue(result.pValue, c.pValue);
	});
});

describe("mannWhitneyBuckets matches scipy.stats.mannwhitneyu(b, a) on tied buckets", () => {
	it.each(reference.mannWhitney.map((c, i) => [i, c] as const))("case %i", (_, c) => {
		const result = mannWhitneyBuckets(c.a, c.b);
		expectRelative(result.u, c.u);
		expectPValue(result.pValue, c.pValue);
	});
});
