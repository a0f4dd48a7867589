/**
 * Error rate: errors (5xx, timeouts, network failures, broken streams) over
 * the requests that reached the variant's backend and were valid.
 *
 * Guardrail: H1 is "the candidate's error rate exceeds the champion's in the
 * same minutes by more than `canary.maxErrorRateIncrease`". Errors are
 * events; under H0 each error of minute s is the candidate's with its share
 * of the requests, so bursts or incidents shared by both arms cancel (the
 * conditional-binomial mixture e-process of stats/counts.ts, widened by the
 * overdispersion measured from minute to minute). As an A/B metric the same
 * mixture runs two-sided, with the rate ratio's interval for the report.
 */

import { formatP, percent } from "../lib/format";
import { errorsOf, exposure } from "../metrics/aggregate";
import {
	type CountStratum,
	countMixtureTest,
	type Interval,
	normalQuantile,
	seriesDispersion,
} from "../stats";
import { countDetectionMinutes, schedule } from "./detection";
import { type GuardrailBase, insufficient } from "./guardrail";
import type { Stratum } from "./strata";
import type {
	AbComparison,
	DetectionTime,
	Evidence,
	Guardrail,
	GuardrailOptions,
	GuardrailResult,
	Measure,
	MetricComparison,
	PowerContext,
	Signal,
	SignalDisplay,
} from "./types";

/**
 * Errors are taken to come in small clusters (index of dispersion 2, as if
 * every failing request were retried once on the same arm) until the minutes
 * say otherwise: one unlucky minute with a burst of candidate errors, before
 * any burstiness could be measured, must not abort a healthy canary.
 */
export const ERROR_DISPERSION_PRIOR = 2;

const DISPLAY: SignalDisplay = { label: "error rate", unit: "ratio", worse: "higher" };

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

/** The error-rate guardrail over the rollout's strata. */
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
	const base: GuardrailBase = {
		name: "error_rate",
		...DISPLAY,
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

/** Minutes to catch twice the error rate H0 allows (the champion's plus the margin). */
function detection(context: PowerContext, promote: number | null): DetectionTime {
	const policy = context.spec.canary;
	const champion = context.champion;
	const pa = exposure(champion) > 0 ? errorsOf(champion) / exposure(champion) : 0;
	const allowed = pa + policy.maxErrorRateIncrease;
	const phases = schedule(policy, context.requestsPerMinute);
	if (phases.length === 0 || !(allowed > 0))
		return {
			name: "error_rate",
			reference: "no champion errors yet",
			minutes: null,
			beforePromotion: true,
		};
	const minutes = countDetectionMinutes({
		phases,
		rate: context.requestsPerMinute,
		championRate: pa,
		allowed,
		psi: 2,
		alpha: context.alpha,
	});
	return {
		name: "error_rate",
		reference: `error rate ${percent(2 * allowed)} instead of at most ${percent(allowed)}`,
		minutes,
		beforePromotion: promote === null || minutes <= promote,
	};
}

const guardrail: Guardrail = {
	name: "error_rate",
	run: (evidence: Evidence, options) =>
		errorRateGuardrail(evidence.strata, evidence.spec.canary.maxErrorRateIncrease, options),
	detection,
};

const Z95 = normalQuantile(0.975);

/**
 * A/B error rate: the two-sided conditional-binomial mixture over the
 * minutes, with the rate ratio's fixed-horizon interval for the report.
 */
const ab: AbComparison = {
	metric: "error_rate",
	always: true,
	measured: () => true,
	compare({ spec, strata, memory }): MetricComparison {
		let requestsA = 0;
		let requestsB = 0;
		let errorsB = 0;
		let standardised = 0;
		const counts: CountStratum[] = [];
		for (const s of strata) {
			const na = exposure(s.champion);
			const nb = exposure(s.candidate);
			if (na === 0 || nb === 0) continue;
			const xa = errorsOf(s.champion);
			const xb = errorsOf(s.candidate);
			requestsA += na;
			requestsB += nb;
			errorsB += xb;
			standardised += (nb * xa) / na;
			counts.push({ events: xa + xb, candidate: xb, nullShare: nb / (na + nb) });
		}
		const key = "ab_error_rate";
		const test = countMixtureTest(counts, {
			alternative: "two-sided",
			alpha: spec.ab.alpha,
			previousPValue: memory.prior(key),
			dispersionPrior: ERROR_DISPERSION_PRIOR,
		});
		memory.remember(key, test.pValue);
		const pa = requestsB > 0 ? standardised / requestsB : 0;
		const pb = requestsB > 0 ? errorsB / requestsB : 0;
		// A rate ratio beyond e^±50 says nothing more, and keeps the report finite.
		const lo = Math.max(-50, test.logRatio - Z95 * test.se);
		const hi = Math.min(50, test.logRatio + Z95 * test.se);
		const informative = test.se > 0 && pa > 0;
		return {
			metric: "error_rate",
			...DISPLAY,
			champion: pa,
			candidate: pb,
			difference: pb - pa,
			ci: informative ? [pa * Math.expm1(lo), pa * Math.expm1(hi)] : [null, null],
			relative: informative
				? { estimate: Math.expm1(test.logRatio), ci: [Math.expm1(lo), Math.expm1(hi)] }
				: null,
			pValue: test.fixedHorizonPValue,
			alwaysValidPValue: test.pValue,
			n: { champion: requestsA, candidate: requestsB },
			dispersion: test.dispersion.a,
			...(requestsA === 0 || requestsB === 0
				? { insufficient: "no minute with both variants yet" }
				: test.insufficient
					? { insufficient: "no errors yet" }
					: {}),
		};
	},
	variances: (primary) => [
		primary.champion * (1 - primary.champion),
		primary.candidate * (1 - primary.candidate),
	],
};

const ERRORS_HELP =
	"Backend errors per variant and kind (5xx, timeout, network, stream: broken after its headers)";

const measures: Measure[] = [
	{ path: "errors", csv: "errors", read: ({ aggregate }) => errorsOf(aggregate) },
	{
		path: "errors5xx",
		csv: "errors_5xx",
		prometheus: { name: "switchyard_errors", help: ERRORS_HELP, labels: { kind: "5xx" } },
		read: ({ aggregate }) => aggregate.errors5xx,
	},
	{
		path: "timeouts",
		csv: "timeouts",
		prometheus: { name: "switchyard_errors", help: ERRORS_HELP, labels: { kind: "timeout" } },
		read: ({ aggregate }) => aggregate.timeouts,
	},
	{
		path: "networkErrors",
		csv: "network_errors",
		prometheus: { name: "switchyard_errors", help: ERRORS_HELP, labels: { kind: "network" } },
		read: ({ aggregate }) => aggregate.networkErrors,
	},
	{
		path: "streamErrors",
		csv: "stream_errors",
		prometheus: { name: "switchyard_errors", help: ERRORS_HELP, labels: { kind: "stream" } },
		read: ({ aggregate }) => aggregate.streamErrors,
	},
];

export const errorRate: Signal = {
	name: "error_rate",
	guardrails: () => [guardrail],
	ab,
	measures,
};
