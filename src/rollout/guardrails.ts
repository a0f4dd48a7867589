/**
 * Canary guardrails: one-sided always-valid tests of "the candidate is worse
 * than the champion by more than a margin", on data accumulated over the
 * whole rollout. Because each test is always valid (mSPRT), looking every
 * minute at every step costs no extra false aborts; the rollout's alpha is
 * split evenly across the active guardrails (Bonferroni), so a healthy
 * canary is falsely aborted with probability at most alpha overall.
 */
import { errorProportion, type VariantAggregate } from "../metrics/aggregate";
import { alignedCounts, histogramBins, histogramCount } from "../metrics/histogram";
import {
	conditionalRateTest,
	effectiveSampleSize,
	type Interval,
	type Moments,
	mannWhitneyBuckets,
	nullVarianceOfDifference,
	quantileShiftTest,
	sampleVariance,
	sequentialTest,
} from "../stats";
import { formatP, percent } from "./summary";

export type GuardrailName = "error_rate" | "latency_p95" | "feedback";

export interface GuardrailResult {
	name: GuardrailName;
	status: "pass" | "fail" | "insufficient";
	/** The champion's and the candidate's value of the metric (rate, p95 ms, mean). */
	champion: number;
	candidate: number;
	/** candidate − champion. */
	difference: number;
	/** The tolerated worsening. */
	margin: number;
	/** Always-valid p-value of "worse by more than the margin" (running minimum over looks). */
	pValue: number;
	/** This guardrail's share of the rollout's alpha. */
	alpha: number;
	/** Confidence sequence for candidate − champion (one-sided). */
	ci: Interval;
	/** One sentence for people, with the numbers. */
	detail: string;
}

export interface GuardrailOptions {
	alpha: number;
	previousPValue: number;
	nStar?: number;
}

const MIN_LATENCY_SAMPLES = 30;

/**
 * Error rate: H1 is p_candidate − p_champion > margin. With no margin, a
 * failure also needs the exact conditional test (given the errors seen,
 * are too many the candidate's?), because the normal approximation behind
 * the sequential test is not to be trusted on a handful of errors.
 */
export function errorRateGuardrail(
	champion: VariantAggregate,
	candidate: VariantAggregate,
	margin: number,
	options: GuardrailOptions,
): GuardrailResult {
	const a = errorProportion(champion);
	const b = errorProportion(candidate);
	const pa = a.n > 0 ? a.successes / a.n : 0;
	const pb = b.n > 0 ? b.successes / b.n : 0;
	const base = {
		name: "error_rate" as const,
		champion: pa,
		candidate: pb,
		difference: pb - pa,
		margin,
		alpha: options.alpha,
	};
	const variance = nullVarianceOfDifference(a, b, margin);
	if (a.n === 0 || b.n === 0) {
		return {
			...base,
			status: "insufficient",
			pValue: options.previousPValue,
			ci: [null, null],
			detail: "no requests yet",
		};
	}
	if (!(variance > 0)) {
		const detail = `no errors on either side (${a.n} champion, ${b.n} candidate requests)`;
		return { ...base, status: "pass", pValue: options.previousPValue, ci: [null, null], detail };
	}
	const test = sequentialTest({
		estimate: pb - pa,
		variance,
		n: effectiveSampleSize(a.n, b.n),
		nullValue: margin,
		alternative: "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const exact = margin === 0 ? conditionalRateTest(a, b) : 0;
	const failed = test.rejected && exact <= options.alpha;
	const verdict = failed ? "worse than allowed" : "within the allowance";
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci: test.ci,
		detail: `error rate ${percent(pb)} (${b.successes}/${b.n}) vs champion ${percent(pa)} (${a.successes}/${a.n}), allowed +${percent(margin)}: ${verdict} (p = ${formatP(test.pValue)}, α = ${options.alpha.toFixed(4)})`,
	};
}

/**
 * p95 latency: H1 is p95_candidate − p95_champion > margin (ms), with the
 * quantiles' order-statistic standard errors; a failure also needs the
 * Mann–Whitney test to show the candidate's latencies shifted upwards, so a
 * noisy tail alone cannot abort.
 */
export function latencyGuardrail(
	champion: VariantAggregate,
	candidate: VariantAggregate,
	margin: number,
	options: GuardrailOptions,
): GuardrailResult {
	const na = histogramCount(champion.histogram);
	const nb = histogramCount(candidate.histogram);
	const shift = quantileShiftTest(
		histogramBins(champion.histogram),
		histogramBins(candidate.histogram),
		{ q: 0.95, margin },
	);
	const base = {
		name: "latency_p95" as const,
		champion: shift.a.estimate,
		candidate: shift.b.estimate,
		difference: shift.b.estimate - shift.a.estimate,
		margin,
		alpha: options.alpha,
	};
	if (na < MIN_LATENCY_SAMPLES || nb < MIN_LATENCY_SAMPLES || shift.insufficient) {
		return {
			...base,
			status: "insufficient",
			pValue: options.previousPValue,
			ci: [null, null],
			detail: `needs ${MIN_LATENCY_SAMPLES} timed responses per variant (${na} champion, ${nb} candidate)`,
		};
	}
	const test = sequentialTest({
		estimate: base.difference,
		variance: shift.se ** 2,
		n: effectiveSampleSize(na, nb),
		nullValue: margin,
		alternative: "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const [countsA, countsB] = alignedCounts(champion.histogram, candidate.histogram);
	const mw = mannWhitneyBuckets(countsA, countsB);
	const shiftedUp = mw.z > 0 && mw.pValue / 2 < options.alpha;
	const failed = test.rejected && shiftedUp;
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci: test.ci,
		detail: `p95 ${base.candidate.toFixed(1)} ms vs champion ${base.champion.toFixed(1)} ms, allowed +${margin} ms (p = ${formatP(test.pValue)}; Mann–Whitney P(candidate slower) = ${mw.probabilityBGreater.toFixed(3)}, p = ${formatP(mw.pValue)})`,
	};
}

/** Feedback mean: H1 is the candidate worse by more than the margin in the configured direction. */
export function feedbackGuardrail(
	champion: Moments,
	candidate: Moments,
	policy: { better: "higher" | "lower"; margin: number },
	options: GuardrailOptions,
): GuardrailResult {
	const difference = candidate.mean - champion.mean;
	const base = {
		name: "feedback" as const,
		champion: champion.mean,
		candidate: candidate.mean,
		difference,
		margin: policy.margin,
		alpha: options.alpha,
	};
	const variance =
		sampleVariance(champion) / Math.max(1, champion.n) +
		sampleVariance(candidate) / Math.max(1, candidate.n);
	if (champion.n < 2 || candidate.n < 2 || !(variance > 0)) {
		return {
			...base,
			status: "insufficient",
			pValue: options.previousPValue,
			ci: [null, null],
			detail: `feedback from ${champion.n} champion and ${candidate.n} candidate requests`,
		};
	}
	const higherIsBetter = policy.better === "higher";
	const test = sequentialTest({
		estimate: difference,
		variance,
		n: effectiveSampleSize(champion.n, candidate.n),
		nullValue: higherIsBetter ? -policy.margin : policy.margin,
		alternative: higherIsBetter ? "less" : "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	return {
		...base,
		status: test.rejected ? "fail" : "pass",
		pValue: test.pValue,
		ci: test.ci,
		detail: `feedback mean ${candidate.mean.toFixed(4)} (n = ${candidate.n}) vs champion ${champion.mean.toFixed(4)} (n = ${champion.n}), ${policy.better} is better, allowed ${policy.margin} worse (p = ${formatP(test.pValue)})`,
	};
}
