/**
 * Strata for the within-time comparisons: the stored per-minute rows paired
 * by (minute, routing threshold), so each arm is only ever compared with the
 * other arm in the same minute at the same weight. Pure.
 */
import {
	emptyAggregate,
	type FeedbackMinute,
	type MinuteRow,
	mergeAggregates,
	mergeAnswers,
	type VariantAggregate,
} from "../metrics/aggregate";
import { alignHistograms, type Histogram, OVERFLOW } from "../metrics/histogram";
import { emptyMoments, type MeanStratum, type Moments, mergeMoments } from "../stats";

/** One minute at one routing threshold: the champion and the compared arm. */
export interface Stratum {
	minute: number;
	threshold: number;
	champion: VariantAggregate;
	candidate: VariantAggregate;
}

/**
 * At most this many strata per routing threshold: a day of minutes. A longer
 * rollout (a canary paused for days, a long A/B test) is compared in blocks
 * of k consecutive minutes instead, so a look stays a few milliseconds and a
 * few megabytes however long it ran.
 */
export const MAX_MINUTE_STRATA = 24 * 60;

/**
 * Pairs the champion's rows with the `compared` variant's (the candidate, or
 * the shadow copies) by minute and threshold, in time order. A stratum where
 * one arm has no row gets an empty aggregate for it. Beyond
 * {@link MAX_MINUTE_STRATA} minutes, a stratum is a block of minutes.
 */
export function strataOf(
	rows: readonly MinuteRow[],
	compared: "candidate" | "shadow" = "candidate",
): Stratum[] {
	let first = Number.POSITIVE_INFINITY;
	let last = Number.NEGATIVE_INFINITY;
	for (const row of rows) {
		if (row.minute < first) first = row.minute;
		if (row.minute > last) last = row.minute;
	}
	const block = rows.length > 0 ? Math.ceil((last - first + 1) / MAX_MINUTE_STRATA) : 1;
	const byKey = new Map<string, Stratum>();
	for (const row of rows) {
		if (row.variant !== "champion" && row.variant !== compared) continue;
		const minute =
			block > 1 ? first + Math.floor((row.minute - first) / block) * block : row.minute;
		const key = `${minute}|${row.threshold}`;
		let stratum = byKey.get(key);
		if (!stratum) {
			stratum = {
				minute,
				threshold: row.threshold,
				champion: emptyAggregate(),
				candidate: emptyAggregate(),
			};
			byKey.set(key, stratum);
		}
		const arm = row.variant === "champion" ? "champion" : "candidate";
		stratum[arm] =
			stratum[arm].requests === 0 && stratum[arm].latency.n === 0
				? row.aggregate
				: mergeAggregates(stratum[arm], row.aggregate);
	}
	return [...byKey.values()].sort((a, b) => a.minute - b.minute || a.threshold - b.threshold);
}

/**
 * Merges one arm over strata (for display and the step's counters), in one
 * pass; without `histograms` the merged histogram is left empty (the caller
 * has the dense ones, see {@link alignStrata}).
 */
export function mergeArm(
	strata: readonly Stratum[],
	arm: "champion" | "candidate",
	histograms = true,
): VariantAggregate {
	const total = emptyAggregate();
	const top = OVERFLOW;
	// Chan's merge of the latency moments, in place.
	let n = 0;
	let mean = 0;
	let m2 = 0;
	for (const s of strata) {
		const a = s[arm];
		total.requests += a.requests;
		total.errors5xx += a.errors5xx;
		total.timeouts += a.timeouts;
		total.networkErrors += a.networkErrors;
		total.fallbacks += a.fallbacks;
		total.diverted += a.diverted;
		total.clientFaults += a.clientFaults;
		total.streamErrors += a.streamErrors;
		total.answers = mergeAnswers(total.answers, a.answers);
		total.compared += a.compared;
		total.agreed += a.agreed;
		total.uncomparable += a.uncomparable;
		const k = a.latency.n;
		if (k > 0) {
			const delta = a.latency.mean - mean;
			const merged = n + k;
			mean += (delta * k) / merged;
			m2 += a.latency.m2 + (delta * delta * n * k) / merged;
			n = merged;
		}
		if (!histograms) continue;
		for (let i = 0; i <= top; i++) {
			const count = a.histogram[i];
			if (count !== undefined) total.histogram[i] = (total.histogram[i] ?? 0) + count;
		}
	}
	total.latency = { n, mean, m2 };
	return total;
}

/** Histograms of many strata on one dense layout. */
export type AlignedStrata = ReturnType<typeof alignHistograms>;

/** Every stratum's two histograms on one dense layout: champion at 2i, candidate at 2i + 1. */
export function alignStrata(strata: readonly Stratum[]): AlignedStrata {
	return alignHistograms(strata.flatMap((s) => [s.champion.histogram, s.candidate.histogram]));
}

/** One arm's histogram over all strata, from the aligned counts. */
export function pooledHistogram(aligned: AlignedStrata, arm: "champion" | "candidate"): Histogram {
	const sum = new Float64Array(aligned.layout.length);
	for (let i = arm === "champion" ? 0 : 1; i < aligned.counts.length; i += 2) {
		const counts = aligned.counts[i] as Float64Array;
		for (let k = 0; k < sum.length; k++) sum[k] = (sum[k] as number) + (counts[k] as number);
	}
	const histogram: Histogram = {};
	sum.forEach((count, k) => {
		if (count > 0) histogram[aligned.first + k] = count;
	});
	return histogram;
}

/**
 * Feedback per request minute with both arms present, only for minutes whose
 * feedback has matured: the minute ended at least `delaySeconds` before `now`.
 * Late labels then cannot favour the arm whose requests are older.
 */
export function feedbackStrata(
	feedback: readonly FeedbackMinute[],
	now: number,
	delaySeconds: number,
): MeanStratum[] {
	const maturedBefore = Math.floor((now - delaySeconds * 1000) / 60_000);
	const byMinute = new Map<number, MeanStratum>();
	for (const row of feedback) {
		if (row.minute >= maturedBefore) continue;
		let stratum = byMinute.get(row.minute);
		if (!stratum) {
			stratum = { a: emptyMoments(), b: emptyMoments() };
			byMinute.set(row.minute, stratum);
		}
		const arm = row.variant === "candidate" ? "b" : "a";
		stratum[arm] = mergeMoments(stratum[arm], row.moments);
	}
	return [...byMinute.entries()].sort((x, y) => x[0] - y[0]).map(([, s]) => s);
}

/** Merged feedback moments per arm, every minute (for display). */
export function feedbackTotals(feedback: readonly FeedbackMinute[]): {
	champion: Moments;
	candidate: Moments;
} {
	let champion = emptyMoments();
	let candidate = emptyMoments();
	for (const row of feedback) {
		if (row.variant === "candidate") candidate = mergeMoments(candidate, row.moments);
		else champion = mergeMoments(champion, row.moments);
	}
	return { champion, candidate };
}
