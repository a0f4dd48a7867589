/**
 * Per-variant aggregates: everything the controller and the dashboard need,
 * as mergeable sufficient statistics (counts, Welford moments, histograms).
 * Pure: isolates pre-aggregate observations into these, the Durable Object
 * stores them per minute, and windows merge them back.
 */
import type { AnswerStats } from "../llm/answer";
import { emptyMoments, type Moments, mergeMoments, pushValue } from "../stats";
import { addToHistogram, type Histogram, mergeHistograms } from "./histogram";
import type { Observation, ObservedVariant, ShadowComparison } from "./observation";

/** What answers' bodies showed, per metric (see llm/answer.ts). */
export const ANSWER_METRICS = [
	"ttfb",
	"ttft",
	"duration",
	"promptTokens",
	"completionTokens",
	"tokensPerSecond",
	"cost",
] as const;
export type AnswerMetric = (typeof ANSWER_METRICS)[number];

/** The answer metrics that are times (ms): they also get a latency histogram, for quantiles. */
export const TIMED_METRICS: ReadonlySet<AnswerMetric> = new Set(["ttfb", "ttft", "duration"]);

export interface MetricAggregate {
	moments: Moments;
	/** Times only (see TIMED_METRICS). */
	histogram: Histogram;
}

export interface VariantAggregate {
	requests: number;
	/** Backend answered 5xx. */
	errors5xx: number;
	timeouts: number;
	networkErrors: number;
	/** Candidate failures answered by the champion. */
	fallbacks: number;
	/** Candidate units served by the champion because an isolate's breaker was open (in `requests`). */
	diverted: number;
	/** Client faults (a 4xx answer, a client gone, a body refused): in `requests`, never errors. */
	clientFaults: number;
	/** Answers that broke after their headers (an error of the variant). */
	streamErrors: number;
	/** Timings, tokens and cost of the answers whose bodies were watched. */
	answers: Partial<Record<AnswerMetric, MetricAggregate>>;
	/**
	 * Latency to response headers of every response that arrived (ok, 4xx and
	 * 5xx), and of every header timeout at its (censored) latency, at least the
	 * timeout.
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
		diverted: 0,
		clientFaults: 0,
		streamErrors: 0,
		answers: {},
		latency: emptyMoments(),
		histogram: {},
		compared: 0,
		agreed: 0,
		uncomparable: 0,
	};
}

/** Total errors (5xx, timeouts, network, broken streams). */
export function errorsOf(a: VariantAggregate): number {
	return a.errors5xx + a.timeouts + a.networkErrors + a.streamErrors;
}

/**
 * The requests an error rate is over: those that reached the variant's
 * backend and were valid. Units an open breaker diverted never reached it,
 * and a client's faults (4xx, gone) count for nothing, so a client can
 * neither raise nor dilute a variant's error rate.
 */
export function exposure(a: VariantAggregate): number {
	return a.requests - a.diverted - a.clientFaults;
}

/**
 * The requests that count toward a decision's sample size and its sample
 * ratio: all but those the client broke (bad input, a client gone), which a
 * client could otherwise send to fill a step or skew the split.
 */
export function counted(a: VariantAggregate): number {
	return a.requests - a.clientFaults;
}

/** Errors as a proportion of the exposure, for the rate tests. */
export function errorProportion(a: VariantAggregate): { successes: number; n: number } {
	return { successes: errorsOf(a), n: exposure(a) };
}

/** Adds one observation in place (hot path). */
export function addObservation(a: VariantAggregate, o: Observation): void {
	a.requests += 1;
	if (o.diverted) {
		a.diverted += 1;
		return;
	}
	if (o.outcome === "http_5xx") a.errors5xx += 1;
	else if (o.outcome === "timeout") a.timeouts += 1;
	else if (o.outcome === "network") a.networkErrors += 1;
	else if (o.outcome === "client") a.clientFaults += 1;
	else if (o.outcome === "stream") a.streamErrors += 1;
	if (o.fallback) a.fallbacks += 1;
	if (o.answer) addAnswer(a, o.answer);
	// Every answer that arrived has a latency (a client fault with no answer has none), and a
	// timeout is a latency of at least the timeout (censored), never a missing one: leaving it
	// out would make the slowest candidate look fastest.
	if (o.status > 0 || o.outcome === "timeout") {
		pushValue(a.latency, o.latencyMs);
		addToHistogram(a.histogram, o.latencyMs);
	}
}

function addAnswer(a: VariantAggregate, answer: AnswerStats): void {
	const values: Record<AnswerMetric, number | undefined> = {
		ttfb: answer.ttfbMs,
		ttft: answer.ttftMs,
		duration: answer.durationMs,
		promptTokens: answer.promptTokens,
		completionTokens: answer.completionTokens,
		tokensPerSecond: answer.tokensPerSecond,
		cost: answer.cost,
	};
	for (const metric of ANSWER_METRICS) {
		const value = values[metric];
		if (value === undefined || !Number.isFinite(value)) continue;
		let target = a.answers[metric];
		if (!target) {
			target = { moments: emptyMoments(), histogram: {} };
			a.answers[metric] = target;
		}
		pushValue(target.moments, value);
		if (TIMED_METRICS.has(metric)) addToHistogram(target.histogram, value);
	}
}

/** Merges per-metric answer aggregates. */
export function mergeAnswers(
	a: VariantAggregate["answers"],
	b: VariantAggregate["answers"],
): VariantAggregate["answers"] {
	const merged: VariantAggregate["answers"] = { ...a };
	for (const metric of ANSWER_METRICS) {
		const x = a[metric];
		const y = b[metric];
		if (x && y)
			merged[metric] = {
				moments: mergeMoments(x.moments, y.moments),
				histogram: mergeHistograms(x.histogram, y.histogram),
			};
		else if (y) merged[metric] = y;
	}
	return merged;
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
		diverted: a.diverted + b.diverted,
		clientFaults: a.clientFaults + b.clientFaults,
		streamErrors: a.streamErrors + b.streamErrors,
		answers: mergeAnswers(a.answers, b.answers),
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
