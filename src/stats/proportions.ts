/**
 * Two-proportion z-test (pooled standard error, as scipy and textbooks do for
 * H0: pa = pb) with an unpooled Wald interval for pb − pa and a delta-method
 * interval for pb / pa − 1. Oriented b − a.
 */
import { binomialUpperTail, normalQuantile, normalTwoSided } from "./special";
import type { Interval } from "./types";
import { relativeDifference } from "./welch";

export interface Proportion {
	successes: number;
	n: number;
}

export interface ProportionTestResult {
	statistic: number;
	pValue: number;
	/** pb − pa. */
	difference: number;
	ci: Interval;
	relative: { estimate: number; ci: Interval } | null;
	insufficient?: string;
}

export function twoProportionZTest(
	a: Proportion,
	b: Proportion,
	options: { level?: number } = {},
): ProportionTestResult {
	const level = options.level ?? 0.95;
	if (a.n < 1 || b.n < 1) {
		return {
			statistic: 0,
			pValue: 1,
			difference: 0,
			ci: [0, 0],
			relative: null,
			insufficient: "each variant needs at least one unit",
		};
	}
	const pa = a.successes / a.n;
	const pb = b.successes / b.n;
	const difference = pb - pa;
	const pooled = (a.successes + b.successes) / (a.n + b.n);
	const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
	const varA = (pa * (1 - pa)) / a.n;
	const varB = (pb * (1 - pb)) / b.n;
	const seUnpooled = Math.sqrt(varA + varB);
	const z = normalQuantile(1 - (1 - level) / 2);
	const statistic = sePooled > 0 ? difference / sePooled : 0;
	return {
		statistic,
		pValue: sePooled > 0 ? normalTwoSided(statistic) : 1,
		difference,
		ci: [difference - z * seUnpooled, difference + z * seUnpooled],
		relative: relativeDifference(pa, varA, pb, varB, level),
	};
}

/**
 * Variance of p̂b − p̂a under H0: pb − pa = margin, with both rates estimated
 * under that constraint (the pooled variance when margin is 0). Used by the
 * sequential guardrail, where the null variance keeps rare-event tests
 * powerful.
 */
export function nullVarianceOfDifference(a: Proportion, b: Proportion, margin = 0): number {
	const n = a.n + b.n;
	if (n === 0 || a.n === 0 || b.n === 0) return 0;
	const pa0 = clamp((a.successes + b.successes - b.n * margin) / n);
	const pb0 = clamp(pa0 + margin);
	return (pa0 * (1 - pa0)) / a.n + (pb0 * (1 - pb0)) / b.n;
}

/**
 * Exact one-sided test of pb > pa conditional on the total number of events:
 * under H0 (equal rates) each event is b's with probability nb / (na + nb),
 * so P(Xb ≥ xb | total) is a binomial tail. Valid for any count, including
 * the few events where the normal approximation fails (one error in 500
 * requests is not evidence of anything).
 */
export function conditionalRateTest(a: Proportion, b: Proportion): number {
	const total = a.successes + b.successes;
	if (total === 0 || a.n + b.n === 0) return 1;
	return binomialUpperTail(b.successes, total, b.n / (a.n + b.n));
}

/** Wilson score interval for one proportion. */
export function wilsonInterval(p: Proportion, level = 0.95): Interval {
	if (p.n === 0) return [0, 1];
	const z = normalQuantile(1 - (1 - level) / 2);
	const phat = p.successes / p.n;
	const denom = 1 + (z * z) / p.n;
	const centre = (phat + (z * z) / (2 * p.n)) / denom;
	const half = (z * Math.sqrt((phat * (1 - phat)) / p.n + (z * z) / (4 * p.n * p.n))) / denom;
	return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function clamp(p: number): number {
	return Math.min(1, Math.max(0, p));
}
