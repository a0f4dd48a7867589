/**
 * Deterministic aggregates for unit tests: `requests` requests with `errors`
 * errors and latencies spread over the histogram like a log-normal with the
 * given median.
 */

import { bucketProbabilities } from "../../scripts/sim/traffic";
import {
	type AggregateRow,
	emptyAggregate,
	emptyFeedback,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import { bucketValue } from "../../src/metrics/histogram";
import type { ObservedVariant } from "../../src/metrics/observation";
import type { AnalysisWindows } from "../../src/rollout/analysis";

export function aggregate(
	requests: number,
	errors = 0,
	medianMs = 80,
	extra: Partial<VariantAggregate> = {},
): VariantAggregate {
	const a = emptyAggregate();
	a.requests = requests;
	a.errors5xx = errors;
	let n = 0;
	let mean = 0;
	for (const { index, p } of bucketProbabilities({ median: medianMs, sigma: 0.5 })) {
		const k = Math.round(p * requests);
		if (k === 0) continue;
		a.histogram[index] = k;
		n += k;
		mean += (k * (bucketValue(index) - mean)) / n;
	}
	a.latency = { n, mean, m2: n * 400 };
	return { ...a, ...extra };
}

export function rows(
	threshold: number,
	champion: VariantAggregate,
	candidate: VariantAggregate,
	shadow?: VariantAggregate,
): AggregateRow[] {
	const out: AggregateRow[] = [
		{ variant: "champion", threshold, aggregate: champion },
		{ variant: "candidate", threshold, aggregate: candidate },
	];
	if (shadow) out.push({ variant: "shadow" as ObservedVariant, threshold, aggregate: shadow });
	return out;
}

/** The same data as both the step window and the rollout window. */
export function windows(
	threshold: number,
	champion: VariantAggregate,
	candidate: VariantAggregate,
	shadow?: VariantAggregate,
): AnalysisWindows {
	const r = rows(threshold, champion, candidate, shadow);
	return { step: r, rollout: r, feedback: emptyFeedback() };
}
