/**
 * Deterministic aggregates for unit tests: `requests` requests with `errors`
 * errors and latencies spread over the histogram like a log-normal with the
 * given median.
 */

import { expectedAggregate } from "../../scripts/sim/traffic";
import {
	type AggregateRow,
	emptyFeedback,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import type { ObservedVariant } from "../../src/metrics/observation";
import type { AnalysisWindows } from "../../src/rollout/analysis";

export function aggregate(
	requests: number,
	errors = 0,
	medianMs = 80,
	extra: Partial<VariantAggregate> = {},
): VariantAggregate {
	return { ...expectedAggregate(requests, errors, { median: medianMs, sigma: 0.5 }), ...extra };
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
