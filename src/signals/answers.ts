/**
 * Reading the answer metrics (what a watched body showed: TTFB, TTFT,
 * duration, tokens, tokens per second, cost) out of the strata and the
 * aggregates, for the signals built on them. Pure.
 */
import type { AnswerMetric, VariantAggregate } from "../metrics/aggregate";
import { histogramQuantile } from "../metrics/histogram";
import { emptyMoments, type MeanStratum } from "../stats";
import type { Stratum } from "./strata";
import type { Measure, MeasuredRow } from "./types";

/** The strata seen through one timed answer metric: its histogram and moments in place of the latency's. */
export function answerStrata(strata: readonly Stratum[], metric: AnswerMetric): Stratum[] {
	const view = (a: VariantAggregate): VariantAggregate => {
		const m = a.answers[metric];
		return { ...a, histogram: m?.histogram ?? {}, latency: m?.moments ?? emptyMoments() };
	};
	return strata.map((s) => ({ ...s, champion: view(s.champion), candidate: view(s.candidate) }));
}

/** One answer metric's per-minute means, for the stratified tests. */
export function answerMeans(strata: readonly Stratum[], metric: AnswerMetric): MeanStratum[] {
	const moments = (a: VariantAggregate) => a.answers[metric]?.moments ?? emptyMoments();
	return strata.map((s) => ({ a: moments(s.champion), b: moments(s.candidate) }));
}

/** True when either arm has values of the metric. */
export function answered(metric: AnswerMetric) {
	return (champion: VariantAggregate, candidate: VariantAggregate): boolean =>
		champion.answers[metric] !== undefined || candidate.answers[metric] !== undefined;
}

/** The variance per value of one arm's answer metric. */
export function answerVariance(a: VariantAggregate, metric: AnswerMetric): number {
	const m = a.answers[metric]?.moments;
	return m && m.n > 1 ? m.m2 / (m.n - 1) : 0;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function measured(row: MeasuredRow, metric: AnswerMetric) {
	const m = row.aggregate.answers[metric];
	return m && m.moments.n > 0 ? m : undefined;
}

/** The mean of an answer metric per variant, when any was measured. */
export function answerMean(
	metric: AnswerMetric,
	path: string,
	csv: string,
	prometheus?: Measure["prometheus"],
	rounded = false,
): Measure {
	return {
		path,
		csv,
		...(prometheus
			? { prometheus: { ...prometheus, when: (row) => measured(row, metric) !== undefined } }
			: {}),
		read: (row) => {
			const m = measured(row, metric);
			return m ? (rounded ? round(m.moments.mean) : m.moments.mean) : undefined;
		},
	};
}

/** A quantile of a timed answer metric per variant, when any was measured. */
export function answerQuantile(
	metric: AnswerMetric,
	q: number,
	path: string,
	csv: string,
	prometheus?: Measure["prometheus"],
): Measure {
	return {
		path,
		csv,
		...(prometheus
			? { prometheus: { ...prometheus, when: (row) => measured(row, metric) !== undefined } }
			: {}),
		read: (row) => {
			const m = measured(row, metric);
			return m ? round(histogramQuantile(m.histogram, q)) : undefined;
		},
	};
}
