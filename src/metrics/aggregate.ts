/**
 * Per-variant aggregates: everything the controller and the dashboard need,
 * as mergeable sufficient statistics (counts, Welford moments, histograms).
 * Pure: isolates pre-aggregate observations into these, the Durable Object
 * stores them per minute, and windows merge them back.
 */
import { emptyMoments, type Moments, mergeMoments, pushValue } from "../stats";
import { addToHistogram, type Histogram, mergeHistograms } from "./histogram";
import type { Observation, ObservedVariant, ShadowComparison } from "./observation";

export interface VariantAggregate {
	requests: number;
	/** Backend answered 5xx. */
	errors5xx: number;
	timeouts: number;
	networkErrors: number;
	/** Candidate failures answered by the champion. */
	fallbacks: number;
	/** Shadow mode: requests not copied (body too large to replay). */
	shadowSkipped: number;
	/**
	 * Latency to response headers of every response that arrived (ok and 5xx),
	 * and of every timeout at its (censored) latency, at least the timeout.
	 */
	latency: Moments;
	histogram: Histogram;
	/** Shadow comparisons: compared (both answered and comparable), agreed, not comparable. */
	compared: number;
	agreed: number;
	uncomparable: number;
}

export function emptyAggregate(): VariantAggregate {
	return {
		requests: 0,
		errors5xx: 0,
		timeouts: 0,
		networkErrors: 0,
		fallbacks: 0,
		shadowSkipped: 0,
		latency: emptyMoments(),
		histogram: {},
		compared: 0,
		agreed: 0,
		uncomparable: 0,
	};
}

/** Total errors (5xx, timeouts, network). */
export function errorsOf(a: VariantAggregate): number {
	return a.errors5xx + a.timeouts + a.networkErrors;
}

/** Errors as a proportion of requests, for the rate tests. */
export function errorProportion(a: VariantAggregate): { successes: number; n: number } {
	return { successes: errorsOf(a), n: a.requests };
}

/** Adds one observation in place (hot path). */
export function addObservation(a: VariantAggregate, o: Observation): void {
	a.requests += 1;
	if (o.outcome === "http_5xx") a.errors5xx += 1;
	else if (o.outcome === "timeout") a.timeouts += 1;
	else if (o.outcome === "network") a.networkErrors += 1;
	if (o.fallback) a.fallbacks += 1;
	if (o.shadowSkipped) a.shadowSkipped += 1;
	// A timeout is a latency of at least the timeout (censored), never a missing one:
	// leaving it out would make the slowest candidate look fastest.
	if (o.outcome === "ok" || o.outcome === "http_5xx" || o.outcome === "timeout") {
		pushValue(a.latency, o.latencyMs);
		addToHistogram(a.histogram, o.latencyMs);
	}
}

/** Adds one shadow comparison's verdict in place. */
export function addComparison(a: VariantAggregate, c: ShadowComparison): void {
	if (c.agreed === null) a.uncomparable += 1;
	else {
		a.compared += 1;
		if (c.agreed) a.agreed += 1;
	}
}

export function mergeAggregates(a: VariantAggregate, b: VariantAggregate): VariantAggregate {
	return {
		requests: a.requests + b.requests,
		errors5xx: a.errors5xx + b.errors5xx,
		timeouts: a.timeouts + b.timeouts,
		networkErrors: a.networkErrors + b.networkErrors,
		fallbacks: a.fallbacks + b.fallbacks,
		shadowSkipped: a.shadowSkipped + b.shadowSkipped,
		latency: mergeMoments(a.latency, b.latency),
		histogram: mergeHistograms(a.histogram, b.histogram),
		compared: a.compared + b.compared,
		agreed: a.agreed + b.agreed,
		uncomparable: a.uncomparable + b.uncomparable,
	};
}

/** A group of stored rows: one variant at one routing threshold. */
export interface AggregateRow {
	variant: ObservedVariant;
	threshold: number;
	aggregate: VariantAggregate;
}

/** Merges the rows of a variant, optionally only those at one threshold. */
export function mergeRows(
	rows: readonly AggregateRow[],
	variant: ObservedVariant,
	threshold?: number,
): VariantAggregate {
	let total = emptyAggregate();
	for (const row of rows) {
		if (row.variant === variant && (threshold === undefined || row.threshold === threshold)) {
			total = mergeAggregates(total, row.aggregate);
		}
	}
	return total;
}

/** One stored row: a variant's aggregate for one minute at one routing threshold. */
export interface MinuteRow {
	/** Unix minute (ms / 60,000). */
	minute: number;
	variant: ObservedVariant;
	/** Routing basis points on the candidate in force (the step the requests belong to). */
	threshold: number;
	aggregate: VariantAggregate;
}

/** Feedback moments of one variant for the requests of one minute. */
export interface FeedbackMinute {
	/** Unix minute of the request the feedback is about. */
	minute: number;
	variant: "champion" | "candidate";
	moments: Moments;
}

/** Feedback outcomes per variant, keyed by the minute of the request they are about. */
export interface FeedbackAggregate {
	champion: Moments;
	candidate: Moments;
}

export function emptyFeedback(): FeedbackAggregate {
	return { champion: emptyMoments(), candidate: emptyMoments() };
}
