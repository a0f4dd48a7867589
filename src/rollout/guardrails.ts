/**
 * Canary guardrails: one-sided always-valid tests of "the candidate is worse
 * than the champion by more than a margin", comparing the arms within each
 * minute (strata.ts) and combining over the whole rollout, so a change that
 * hits both arms in the same minutes (an incident, the time of day) is never
 * blamed on the candidate. Each test is an e-process or a mixture SPRT, valid
 * at every look; the rollout's alpha is split evenly across the active
 * guardrails, so a healthy canary is falsely aborted with probability at most
 * alpha overall. No second test can veto a failing one.
 *
 *  - error rate: the conditional-binomial mixture of stats/counts.ts;
 *  - latency quantiles (p95, p99, …): the champion's quantile standardised to
 *    the candidate's minutes against the candidate's, on the log scale
 *    (relative margins), with order-statistic standard errors, in the
 *    mixture SPRT;
 *  - time to first token (streamed LLM answers): like latency, on the TTFT
 *    histograms;
 *  - feedback and cost per request: the stratified difference in means in
 *    the mixture SPRT.
 *
 * Every test widens itself by the overdispersion it measures from minute to
 * minute (stats/dispersion.ts).
 */
import { errorsOf, exposure } from "../metrics/aggregate";
import type { SignalDisplay } from "../signals/types";
import {
	type CountStratum,
	countMixtureTest,
	type Interval,
	type MeanStratum,
	sequentialTest,
	seriesDispersion,
	stratifiedDifference,
	stratifiedQuantileTest,
} from "../stats";
import { alignStrata, type Stratum } from "./strata";
import { formatP, percent } from "./summary";

export type GuardrailName =
	| "error_rate"
	| `latency_p${number}`
	| `ttft_p${number}`
	| "feedback"
	| "cost";

export interface GuardrailResult extends SignalDisplay {
	name: GuardrailName;
	status: "pass" | "fail" | "insufficient";
	/**
	 * The champion's and the candidate's value of the metric (rate, quantile in
	 * ms, mean). The champion's is taken over the candidate's minutes (the
	 * champion as it was when and where the candidate served).
	 */
	champion: number;
	candidate: number;
	/** candidate − champion. */
	difference: number;
	/** The tolerated worsening, in the metric's unit (ms for latency). */
	margin: number;
	/** Always-valid p-value of "worse by more than the margin" (running minimum over looks). */
	pValue: number;
	/** This guardrail's share of the rollout's alpha. */
	alpha: number;
	/** Confidence sequence for candidate − champion (one-sided: the lower bound). */
	ci: Interval;
	/** Variance inflation from minute-to-minute overdispersion (1: none measured). */
	dispersion: number;
	/** Minutes (strata) compared. */
	strata: number;
	/** One sentence for people, with the numbers. */
	detail: string;
}

export interface GuardrailOptions {
	alpha: number;
	previousPValue: number;
	nStar?: number;
}

/** Tail values each arm needs before a quantile is compared: n·(1 − q) ≥ this. */
export const MIN_TAIL_VALUES = 10;
/**
 * Errors are taken to come in small clusters (index of dispersion 2, as if
 * every failing request were retried once on the same arm) until the minutes
 * say otherwise: one unlucky minute with a burst of candidate errors, before
 * any burstiness could be measured, must not abort a healthy canary.
 */
export const ERROR_DISPERSION_PRIOR = 2;
/** Latency increases below this never fail: Workers' clocks do not resolve them. */
export const LATENCY_RESOLUTION_MS = 1;

function insufficient(
	base: Omit<GuardrailResult, "status" | "pValue" | "ci" | "detail" | "dispersion" | "strata">,
	previousPValue: number,
	detail: string,
	strata = 0,
): GuardrailResult {
	return {
		...base,
		status: "insufficient",
		pValue: previousPValue,
		ci: [null, null],
		dispersion: 1,
		strata,
		detail,
	};
}

/**
 * The champion's error rate in each minute, under H0 "the candidate's rate
 * exceeds it by at most `margin`" (absolute): the restricted maximum
 * likelihood of the two Poisson rates (Farrington–Manning style), so the
 * stratum's null share θ0 = nb(pa + d) / (na·pa + nb(pa + d)).
 */
function nullShare(na: number, nb: number, xa: number, xb: number, margin: number): number {
	if (margin === 0) return nb / (na + nb);
	const n = na + nb;
	const b = n * margin - xa - xb;
	const pa = (-b + Math.sqrt(b * b + 4 * n * xa * margin)) / (2 * n);
	const candidate = nb * (pa + margin);
	return candidate / (na * pa + candidate);
}

/**
 * Error rate: H1 is "the candidate's error rate exceeds the champion's in the
 * same minutes by more than `margin`". Errors are events; under H0 each error
 * of minute s is the candidate's with its share of the requests, so bursts or
 * incidents shared by both arms cancel.
 */
export function errorRateGuardrail(
	strata: readonly Stratum[],
	margin: number,
	options: GuardrailOptions,
): GuardrailResult {
	const counts: CountStratum[] = [];
	let requestsB = 0;
	let errorsB = 0;
	let standardised = 0;
	let compared = 0;
	for (const s of strata) {
		const na = exposure(s.champion);
		const nb = exposure(s.candidate);
		if (na === 0 || nb === 0) continue;
		compared++;
		const xa = errorsOf(s.champion);
		const xb = errorsOf(s.candidate);
		requestsB += nb;
		errorsB += xb;
		standardised += (nb * xa) / na;
		const share = nullShare(na, nb, xa, xb, margin);
		if (share < 1) counts.push({ events: xa + xb, candidate: xb, nullShare: share });
	}
	const pa = requestsB > 0 ? standardised / requestsB : 0;
	const pb = requestsB > 0 ? errorsB / requestsB : 0;
	const base = {
		name: "error_rate" as const,
		label: "error rate",
		unit: "ratio" as const,
		worse: "higher" as const,
		champion: pa,
		candidate: pb,
		difference: pb - pa,
		margin,
		alpha: options.alpha,
	};
	if (compared === 0)
		return insufficient(base, options.previousPValue, "no minute with both arms yet");
	const test = countMixtureTest(counts, {
		alternative: "greater",
		alpha: options.alpha,
		previousPValue: options.previousPValue,
		anchor: seriesDispersion(championSeries(strata)),
		dispersionPrior: ERROR_DISPERSION_PRIOR,
	});
	const lower = test.ci[0];
	const ci: Interval = [lower === null ? null : (pa + margin) * Math.exp(lower) - pa, null];
	const failed = test.pValue <= options.alpha;
	const numbers = `error rate ${percent(pb)} (${errorsB}/${requestsB}) vs champion ${percent(pa)} in the same minutes, allowed +${percent(margin)}`;
	const dispersion =
		test.dispersion.a + test.dispersion.kappa * (test.information / Math.max(1, test.strata));
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci,
		dispersion,
		strata: compared,
		detail:
			test.events === 0
				? `no errors on either side (${compared} minutes, ${requestsB} candidate requests)`
				: `${numbers}: ${failed ? "worse than allowed" : "within the allowance"} (p = ${formatP(test.pValue)}, α = ${options.alpha.toFixed(4)})`,
	};
}

/** The champion's errors per minute (thresholds of a minute added up), in time order. */
function championSeries(strata: readonly Stratum[]): number[] {
	const series: number[] = [];
	let minute: number | null = null;
	for (const s of strata) {
		if (s.minute !== minute) {
			series.push(0);
			minute = s.minute;
		}
		series[series.length - 1] = (series[series.length - 1] as number) + errorsOf(s.champion);
	}
	return series;
}

export interface LatencyMargins {
	/** Tolerated relative increase, percent. */
	pct: number;
	/** Tolerated absolute increase, ms (the larger of the two applies). */
	ms?: number;
}

/** The tolerated increase (ms) of a quantile whose champion value is `championMs`. */
export function latencyTolerance(championMs: number, margins: LatencyMargins): number {
	return Math.max((championMs * margins.pct) / 100, margins.ms ?? 0, LATENCY_RESOLUTION_MS);
}

/** "latency_p95", "latency_p99", "latency_p99.9" (or "ttft_p95" for the time to first token) */
export function latencyName(q: number, metric: "latency" | "ttft" = "latency"): GuardrailName {
	return `${metric}_p${Number((q * 100).toFixed(3))}`;
}

/**
 * Latency quantiles: for each q, H1 is "the candidate's q-quantile exceeds
 * the champion's (over the same minutes) by more than the tolerance", the
 * larger of `pct` % and `ms`. Timeouts are in the histograms at their
 * (censored) latency, so a candidate that times out looks slow, not fast.
 */
export function latencyGuardrails(
	strata: readonly Stratum[],
	quantiles: readonly number[],
	margins: LatencyMargins,
	options: (q: number) => GuardrailOptions,
	aligned: ReturnType<typeof alignStrata> = alignStrata(strata),
	metric: "latency" | "ttft" = "latency",
): GuardrailResult[] {
	const dense = strata.map((_, i) => ({
		a: aligned.counts[2 * i] as Float64Array,
		b: aligned.counts[2 * i + 1] as Float64Array,
	}));
	return quantiles.map((q) => {
		const opts = options(q);
		const test = stratifiedQuantileTest(aligned.layout, dense, q);
		const qa = test.champion.estimate;
		const qb = test.candidate.estimate;
		const tolerance = latencyTolerance(qa, margins);
		const base = {
			name: latencyName(q, metric),
			label: `${metric === "ttft" ? "TTFT" : "latency"} p${Number((q * 100).toFixed(3))}`,
			unit: "ms" as const,
			worse: "higher" as const,
			champion: qa,
			candidate: qb,
			difference: qb - qa,
			margin: tolerance,
			alpha: opts.alpha,
		};
		const tailA = test.champion.n * (1 - q);
		const tailB = test.candidate.n * (1 - q);
		if (test.insufficient || tailA < MIN_TAIL_VALUES || tailB < MIN_TAIL_VALUES) {
			const needed = Math.ceil(MIN_TAIL_VALUES / (1 - q));
			return insufficient(
				base,
				opts.previousPValue,
				test.insufficient ??
					`needs about ${needed} timed responses per variant (${Math.round(test.champion.n)} champion, ${test.candidate.n} candidate in shared minutes)`,
				test.strata,
			);
		}
		const sequential = sequentialTest({
			estimate: test.logRatio,
			variance: test.se ** 2,
			n: test.n,
			nullValue: Math.log1p(tolerance / qa),
			alternative: "greater",
			alpha: opts.alpha,
			nStar: opts.nStar,
			previousPValue: opts.previousPValue,
		});
		const lower = sequential.ci[0];
		const failed = sequential.pValue <= opts.alpha;
		const label = `${metric === "ttft" ? "TTFT " : ""}p${Number((q * 100).toFixed(3))}`;
		return {
			...base,
			status: failed ? "fail" : "pass",
			pValue: sequential.pValue,
			ci: [lower === null ? null : qa * Math.expm1(lower), null],
			dispersion: test.dispersion,
			strata: test.strata,
			detail: `${label} ${qb.toFixed(1)} ms vs champion ${qa.toFixed(1)} ms in the same minutes (${formatSigned(qb / qa - 1)}), allowed +${tolerance.toFixed(1)} ms: ${failed ? "slower than allowed" : "within the allowance"} (p = ${formatP(sequential.pValue)}, α = ${opts.alpha.toFixed(4)})`,
		};
	});
}

function formatSigned(relative: number): string {
	return `${relative >= 0 ? "+" : "−"}${Math.abs(relative * 100).toFixed(1)} %`;
}

/**
 * Feedback mean: H1 is the candidate worse by more than the margin in the
 * configured direction, over the request minutes whose feedback has matured.
 */
export function feedbackGuardrail(
	strata: readonly MeanStratum[],
	policy: { better: "higher" | "lower"; margin: number },
	options: GuardrailOptions,
): GuardrailResult {
	const d = stratifiedDifference(strata);
	const base = {
		name: "feedback" as const,
		label: "feedback",
		unit: "score" as const,
		worse: policy.better === "higher" ? ("lower" as const) : ("higher" as const),
		champion: d.champion,
		candidate: d.candidate,
		difference: d.estimate,
		margin: policy.margin,
		alpha: options.alpha,
	};
	if (d.insufficient || d.na < 2 || d.nb < 2 || !(d.variance > 0)) {
		return insufficient(
			base,
			options.previousPValue,
			`feedback from ${d.na} champion and ${d.nb} candidate requests in matured minutes shared by both`,
			d.strata,
		);
	}
	const higherIsBetter = policy.better === "higher";
	const test = sequentialTest({
		estimate: d.estimate,
		variance: d.variance,
		n: d.n,
		nullValue: higherIsBetter ? -policy.margin : policy.margin,
		alternative: higherIsBetter ? "less" : "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const failed = test.pValue <= options.alpha;
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci: higherIsBetter ? [null, test.ci[1]] : [test.ci[0], null],
		dispersion: d.dispersion.a,
		strata: d.strata,
		detail: `feedback mean ${d.candidate.toFixed(4)} (n = ${d.nb}) vs champion ${d.champion.toFixed(4)} (n = ${d.na}) in the same matured minutes, ${policy.better} is better, allowed ${policy.margin} worse (p = ${formatP(test.pValue)})`,
	};
}

/**
 * Cost per request: H1 is the candidate's mean cost more than `maxIncreasePct`
 * % above the champion's over the same minutes (the margin is taken from the
 * champion's mean cost, so it is in the currency of the prices).
 */
export function costGuardrail(
	strata: readonly MeanStratum[],
	maxIncreasePct: number,
	options: GuardrailOptions,
): GuardrailResult {
	const d = stratifiedDifference(strata);
	const margin = (d.champion * maxIncreasePct) / 100;
	const base = {
		name: "cost" as const,
		label: "cost per request",
		unit: "currency" as const,
		worse: "higher" as const,
		champion: d.champion,
		candidate: d.candidate,
		difference: d.estimate,
		margin,
		alpha: options.alpha,
	};
	if (d.insufficient || d.na < 2 || d.nb < 2 || !(d.variance > 0)) {
		return insufficient(
			base,
			options.previousPValue,
			`cost known for ${d.na} champion and ${d.nb} candidate requests in minutes shared by both (a price or cost header on both backends is needed)`,
			d.strata,
		);
	}
	const test = sequentialTest({
		estimate: d.estimate,
		variance: d.variance,
		n: d.n,
		nullValue: margin,
		alternative: "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const failed = test.pValue <= options.alpha;
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci: [test.ci[0], null],
		dispersion: d.dispersion.a,
		strata: d.strata,
		detail: `cost per request ${d.candidate.toPrecision(3)} vs champion ${d.champion.toPrecision(3)} in the same minutes, allowed +${maxIncreasePct} %: ${failed ? "dearer than allowed" : "within the allowance"} (p = ${formatP(test.pValue)}, α = ${options.alpha.toFixed(4)})`,
	};
}
