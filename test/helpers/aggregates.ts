/**
 * Deterministic aggregates for unit tests: `requests` requests with `errors`
 * errors and latencies spread over the histogram like a log-normal with the
 * given median; and analysis windows built from them.
 */

import { expectedAggregate } from "../../scripts/sim/traffic";
import type {
	AggregateRow,
	FeedbackMinute,
	MinuteRow,
	VariantAggregate,
} from "../../src/metrics/aggregate";
import type { Observation, ObservedVariant } from "../../src/metrics/observation";
import type { AnalysisWindows } from "../../src/rollout/analysis";
import type { Moments } from "../../src/stats";

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

/** The minute the single-minute windows below are stored at: 11:59 UTC on 2026-11-28. */
export const WINDOW_MINUTE = Math.floor(Date.UTC(2026, 10, 28, 11, 59) / 60_000);

/** The same rows as minute rows of one minute. */
export function minuteRows(
	minute: number,
	threshold: number,
	champion: VariantAggregate,
	candidate: VariantAggregate,
	shadow?: VariantAggregate,
): MinuteRow[] {
	return rows(threshold, champion, candidate, shadow).map((row) => ({ minute, ...row }));
}

/** All the data in one minute ({@link WINDOW_MINUTE}), no feedback. */
export function windows(
	threshold: number,
	champion: VariantAggregate,
	candidate: VariantAggregate,
	shadow?: VariantAggregate,
	minute = WINDOW_MINUTE,
): AnalysisWindows {
	return { minutes: minuteRows(minute, threshold, champion, candidate, shadow), feedback: [] };
}

/** Feedback about the requests of one minute. */
export function feedbackAt(
	minute: number,
	champion: Moments,
	candidate: Moments,
): FeedbackMinute[] {
	return [
		{ minute, variant: "champion", moments: champion },
		{ minute, variant: "candidate", moments: candidate },
	];
}

/** A champion's successful 5 ms prediction of deployment "d" at `time`. */
export function okObservation(time: number): Observation {
	return {
		deployment: "d",
		variant: "champion",
		threshold: 0,
		epoch: 0,
		time,
		outcome: "ok",
		status: 200,
		latencyMs: 5,
		fallback: false,
	};
}
