/**
 * The analysis report of a deployment: what the controller decides on and
 * what the admin API shows. Pure: takes the spec, the state and aggregates
 * read from the deployment object, returns plain data (JSON-safe: no Infinity).
 *
 * Windows: "rollout" holds everything since the rollout began (all routing
 * thresholds, QA-override traffic excluded); "step" holds the current step
 * only (since `state.since`, at the current threshold).
 */
import type { DeploymentSpec } from "../config/spec";
import type { RolloutState } from "../config/state";
import { routingOf } from "../config/state";
import {
	type AggregateRow,
	errorProportion,
	errorsOf,
	type FeedbackAggregate,
	mergeRows,
	type VariantAggregate,
} from "../metrics/aggregate";
import { alignedCounts } from "../metrics/histogram";
import {
	effectiveSampleSize,
	type Interval,
	type Moments,
	mannWhitneyBuckets,
	moreSamplesNeeded,
	type SrmCheck,
	sampleVariance,
	sequentialTest,
	srmCheck,
	twoProportionZTest,
	welchTTest,
	wilsonInterval,
} from "../stats";
import {
	errorRateGuardrail,
	feedbackGuardrail,
	type GuardrailResult,
	latencyGuardrail,
} from "./guardrails";
import { summarize, type VariantSummary } from "./summary";

export interface AnalysisWindows {
	rollout: AggregateRow[];
	step: AggregateRow[];
	feedback: FeedbackAggregate;
}

/** Always-valid p-values carried from look to look, per rollout. */
export interface AnalysisMemory {
	/** The rollout (its startedAt) the p-values belong to. */
	rollout: string | null;
	pValues: Record<string, number>;
}

export const EMPTY_MEMORY: AnalysisMemory = { rollout: null, pValues: {} };

export interface StepWindow {
	index: number;
	weight: number;
	since: string | null;
	elapsedSeconds: number;
	bakeSeconds: number;
	minRequests: number;
	champion: number;
	candidate: number;
}

export interface CanaryReport {
	strategy: "canary";
	step: StepWindow;
	rollout: { champion: VariantSummary; candidate: VariantSummary };
	guardrails: GuardrailResult[];
	ceiling: {
		limit: number;
		candidateErrorRate: number;
		candidateRequests: number;
		breached: boolean;
	};
	srm: SrmCheck;
}

export type AbMetric = "error_rate" | "latency" | "feedback";

export interface MetricComparison {
	metric: AbMetric;
	champion: number;
	candidate: number;
	difference: number;
	/** Fixed-horizon interval for candidate − champion. */
	ci: Interval;
	relative: { estimate: number; ci: Interval } | null;
	/** Fixed-horizon two-sided p-value (valid for one look at a planned sample size). */
	pValue: number;
	/** Always-valid two-sided p-value (valid at every look). */
	alwaysValidPValue: number;
	n: { champion: number; candidate: number };
	/** Latency only: the Mann–Whitney p-value on the histograms (robust to outliers). */
	mannWhitneyPValue?: number;
	insufficient?: string;
}

export type AbVerdict = "candidate_better" | "candidate_worse" | "no_difference_yet";

export interface AbReport {
	strategy: "ab";
	weight: number;
	champion: VariantSummary;
	candidate: VariantSummary;
	metrics: MetricComparison[];
	primary: AbMetric;
	srm: SrmCheck;
	verdict: AbVerdict;
	/** About how many more requests per variant the primary metric needs; null when unknown. */
	needsMore: number | null;
	summary: string;
}

export interface ShadowReport {
	strategy: "shadow";
	comparisons: {
		compared: number;
		agreed: number;
		uncomparable: number;
		agreement: number;
		ci: Interval;
	};
	champion: VariantSummary;
	candidate: VariantSummary;
	guardrails: GuardrailResult[];
	promotion: {
		enabled: boolean;
		minComparisons: number;
		minAgreement: number;
		ready: boolean;
		reason: string;
	};
}

export type AnalysisReport = CanaryReport | AbReport | ShadowReport;

export interface Analysis {
	report: AnalysisReport;
	memory: AnalysisMemory;
}

/** Which analysis a (spec, state) pair gets: shadow until a shadow deployment moves on to its canary. */
export function modeOf(spec: DeploymentSpec, state: RolloutState): "shadow" | "ab" | "canary" {
	if (spec.strategy === "ab") return "ab";
	if (spec.strategy === "shadow") {
		const shadowing =
			state.status === "shadowing" ||
			state.status === "pending" ||
			(state.status === "paused" && state.pausedFrom === "shadowing");
		if (shadowing) return "shadow";
	}
	return "canary";
}

export function analyze(
	spec: DeploymentSpec,
	state: RolloutState,
	windows: AnalysisWindows,
	memory: AnalysisMemory,
	now: number,
): Analysis {
	const rolloutId = state.startedAt ?? null;
	const previous = memory.rollout === rolloutId ? memory.pValues : {};
	const pValues: Record<string, number> = {};
	const remember = (key: string, p: number) => {
		pValues[key] = p;
		return p;
	};
	const prior = (key: string) => previous[key] ?? 1;
	const mode = modeOf(spec, state);
	const report =
		mode === "shadow"
			? shadowReport(spec, windows, prior, remember)
			: mode === "ab"
				? abReport(spec, state, windows, prior, remember)
				: canaryReport(spec, state, windows, now, prior, remember);
	return { report, memory: { rollout: rolloutId, pValues } };
}

type Prior = (key: string) => number;
type Remember = (key: string, p: number) => number;

function guardrailsFor(
	champion: VariantAggregate,
	candidate: VariantAggregate,
	feedback: FeedbackAggregate | null,
	spec: DeploymentSpec,
	prior: Prior,
	remember: Remember,
): GuardrailResult[] {
	const policy = spec.canary;
	const active = feedback && policy.feedback ? 3 : 2;
	const alpha = policy.alpha / active;
	const results = [
		errorRateGuardrail(champion, candidate, policy.maxErrorRateIncrease, {
			alpha,
			previousPValue: prior("error_rate"),
		}),
		latencyGuardrail(champion, candidate, policy.maxLatencyIncreaseMs, {
			alpha,
			previousPValue: prior("latency_p95"),
		}),
	];
	if (feedback && policy.feedback) {
		results.push(
			feedbackGuardrail(feedback.champion, feedback.candidate, policy.feedback, {
				alpha,
				previousPValue: prior("feedback"),
			}),
		);
	}
	for (const r of results) remember(r.name, r.pValue);
	return results;
}

function canaryReport(
	spec: DeploymentSpec,
	state: RolloutState,
	windows: AnalysisWindows,
	now: number,
	prior: Prior,
	remember: Remember,
): CanaryReport {
	const threshold = routingOf(spec, state).mode === "split" ? Math.round(state.weight * 100) : 0;
	const stepChampion = mergeRows(windows.step, "champion", threshold);
	const stepCandidate = mergeRows(windows.step, "candidate", threshold);
	const champion = mergeRows(
		windows.rollout.filter((r) => r.threshold >= 0),
		"champion",
	);
	const candidate = mergeRows(
		windows.rollout.filter((r) => r.threshold >= 0),
		"candidate",
	);
	const since = state.since ?? null;
	const candidateErrors = errorsOf(stepCandidate);
	const candidateErrorRate =
		stepCandidate.requests > 0 ? candidateErrors / stepCandidate.requests : 0;
	return {
		strategy: "canary",
		step: {
			index: state.step,
			weight: state.weight,
			since,
			elapsedSeconds: since ? Math.max(0, (now - Date.parse(since)) / 1000) : 0,
			bakeSeconds: spec.canary.bakeSeconds,
			minRequests: spec.canary.minRequests,
			champion: stepChampion.requests,
			candidate: stepCandidate.requests,
		},
		rollout: {
			champion: summarize(champion, windows.feedback.champion),
			candidate: summarize(candidate, windows.feedback.candidate),
		},
		guardrails: guardrailsFor(champion, candidate, windows.feedback, spec, prior, remember),
		ceiling: {
			limit: spec.canary.maxErrorRate,
			candidateErrorRate,
			candidateRequests: stepCandidate.requests,
			breached:
				stepCandidate.requests >= CEILING_MIN_REQUESTS &&
				candidateErrorRate > spec.canary.maxErrorRate,
		},
		srm: srmCheck([stepChampion.requests, stepCandidate.requests], [10_000 - threshold, threshold]),
	};
}

/** The hard ceiling needs this many candidate requests in the step, so one early error cannot trip it. */
export const CEILING_MIN_REQUESTS = 20;

function abReport(
	spec: DeploymentSpec,
	state: RolloutState,
	windows: AnalysisWindows,
	prior: Prior,
	remember: Remember,
): AbReport {
	const rows = windows.rollout.filter((r) => r.threshold >= 0);
	const champion = mergeRows(rows, "champion");
	const candidate = mergeRows(rows, "candidate");
	const policy = spec.ab;
	const metrics: MetricComparison[] = [
		errorRateComparison(champion, candidate, prior, remember),
		latencyComparison(champion, candidate, prior, remember),
		feedbackComparison(windows.feedback.champion, windows.feedback.candidate, prior, remember),
	];
	const primary = metrics.find((m) => m.metric === policy.metric) as MetricComparison;
	const lowerIsBetter = policy.metric !== "feedback" || policy.better === "lower";
	const significant =
		primary.insufficient === undefined && primary.alwaysValidPValue <= policy.alpha;
	const candidateBetter = lowerIsBetter ? primary.difference < 0 : primary.difference > 0;
	const verdict: AbVerdict = significant
		? candidateBetter
			? "candidate_better"
			: "candidate_worse"
		: "no_difference_yet";
	// SRM per routing threshold: each weight the test ran at is checked against its own split.
	const thresholds = [...new Set(rows.map((r) => r.threshold))];
	const observed = thresholds.flatMap((t) => [
		mergeRows(rows, "champion", t).requests,
		mergeRows(rows, "candidate", t).requests,
	]);
	const expected = thresholds.flatMap((t) => {
		const n = mergeRows(rows, "champion", t).requests + mergeRows(rows, "candidate", t).requests;
		return [(n * (10_000 - t)) / 10_000, (n * t) / 10_000];
	});
	const srm = thresholds.length > 0 ? srmCheck(observed, expected) : srmCheck([0, 0], [1, 1]);
	const needsMore =
		verdict === "no_difference_yet"
			? samplesStillNeeded(primary, champion, candidate, windows.feedback, policy)
			: 0;
	return {
		strategy: "ab",
		weight: state.weight,
		champion: summarize(champion, windows.feedback.champion),
		candidate: summarize(candidate, windows.feedback.candidate),
		metrics,
		primary: policy.metric,
		srm,
		verdict,
		needsMore,
		summary: abSummary(primary, verdict, needsMore, policy.alpha),
	};
}

function abSummary(
	primary: MetricComparison,
	verdict: AbVerdict,
	needsMore: number | null,
	alpha: number,
): string {
	const numbers = `${primary.metric}: candidate ${primary.candidate.toPrecision(4)} vs champion ${primary.champion.toPrecision(4)} (always-valid p = ${primary.alwaysValidPValue.toPrecision(3)}, α = ${alpha})`;
	if (verdict === "candidate_better") return `candidate is better on ${numbers}`;
	if (verdict === "candidate_worse") return `candidate is worse on ${numbers}`;
	if (primary.insufficient) return `not enough data for ${primary.metric}: ${primary.insufficient}`;
	return needsMore === null
		? `no difference yet on ${numbers}`
		: `no difference yet on ${numbers}; needs about ${needsMore} more requests per variant`;
}

function withSequential(
	comparison: Omit<MetricComparison, "alwaysValidPValue">,
	variance: number,
	prior: Prior,
	remember: Remember,
): MetricComparison {
	const key = `ab_${comparison.metric}`;
	const test = sequentialTest({
		estimate: comparison.difference,
		variance,
		n: effectiveSampleSize(comparison.n.champion, comparison.n.candidate),
		previousPValue: prior(key),
	});
	return { ...comparison, alwaysValidPValue: remember(key, test.pValue) };
}

function errorRateComparison(
	champion: VariantAggregate,
	candidate: VariantAggregate,
	prior: Prior,
	remember: Remember,
): MetricComparison {
	const a = errorProportion(champion);
	const b = errorProportion(candidate);
	const test = twoProportionZTest(a, b);
	const pa = a.n ? a.successes / a.n : 0;
	const pb = b.n ? b.successes / b.n : 0;
	const pooled = a.n + b.n > 0 ? (a.successes + b.successes) / (a.n + b.n) : 0;
	const variance = pooled * (1 - pooled) * (a.n && b.n ? 1 / a.n + 1 / b.n : 0);
	return withSequential(
		{
			metric: "error_rate",
			champion: pa,
			candidate: pb,
			difference: pb - pa,
			ci: test.ci,
			relative: test.relative,
			pValue: test.pValue,
			n: { champion: a.n, candidate: b.n },
			...(test.insufficient ? { insufficient: test.insufficient } : {}),
		},
		variance,
		prior,
		remember,
	);
}

function latencyComparison(
	champion: VariantAggregate,
	candidate: VariantAggregate,
	prior: Prior,
	remember: Remember,
): MetricComparison {
	const comparison = meanComparison(
		"latency",
		champion.latency,
		candidate.latency,
		prior,
		remember,
	);
	const [a, b] = alignedCounts(champion.histogram, candidate.histogram);
	const mw = mannWhitneyBuckets(a, b);
	// The mean decides; the Mann–Whitney p-value is reported as the robust alternative.
	return mw.insufficient ? comparison : { ...comparison, mannWhitneyPValue: mw.pValue };
}

function feedbackComparison(
	champion: Moments,
	candidate: Moments,
	prior: Prior,
	remember: Remember,
): MetricComparison {
	return meanComparison("feedback", champion, candidate, prior, remember);
}

function meanComparison(
	metric: AbMetric,
	a: Moments,
	b: Moments,
	prior: Prior,
	remember: Remember,
): MetricComparison {
	const test = welchTTest(
		{ mean: a.mean, variance: sampleVariance(a), n: a.n },
		{ mean: b.mean, variance: sampleVariance(b), n: b.n },
	);
	return withSequential(
		{
			metric,
			champion: a.mean,
			candidate: b.mean,
			difference: b.mean - a.mean,
			ci: test.ci,
			relative: test.relative,
			pValue: test.pValue,
			n: { champion: a.n, candidate: b.n },
			...(test.insufficient ? { insufficient: test.insufficient } : {}),
		},
		test.se ** 2,
		prior,
		remember,
	);
}

function samplesStillNeeded(
	primary: MetricComparison,
	champion: VariantAggregate,
	candidate: VariantAggregate,
	feedback: FeedbackAggregate,
	policy: DeploymentSpec["ab"],
): number | null {
	const effect = policy.minDetectableEffect ?? Math.abs(primary.difference);
	const ratio =
		policy.weight > 0 && policy.weight < 100 ? policy.weight / (100 - policy.weight) : 1;
	let varianceA: number;
	let varianceB: number;
	if (primary.metric === "error_rate") {
		varianceA = primary.champion * (1 - primary.champion);
		varianceB = primary.candidate * (1 - primary.candidate);
	} else {
		const [a, b] =
			primary.metric === "latency"
				? [champion.latency, candidate.latency]
				: [feedback.champion, feedback.candidate];
		varianceA = sampleVariance(a);
		varianceB = sampleVariance(b);
	}
	const more = moreSamplesNeeded({
		varianceA,
		varianceB,
		effect,
		ratio,
		alpha: policy.alpha,
		currentB: primary.n.candidate,
	});
	return Number.isFinite(more) && more > 0 ? more : null;
}

function shadowReport(
	spec: DeploymentSpec,
	windows: AnalysisWindows,
	prior: Prior,
	remember: Remember,
): ShadowReport {
	const champion = mergeRows(windows.rollout, "champion");
	const shadow = mergeRows(windows.rollout, "shadow");
	const agreement = shadow.compared > 0 ? shadow.agreed / shadow.compared : 0;
	const ci = wilsonInterval({ successes: shadow.agreed, n: shadow.compared });
	const guardrails = guardrailsFor(champion, shadow, null, spec, prior, remember);
	const policy = spec.shadow;
	const failing = guardrails.filter((g) => g.status === "fail").map((g) => g.name);
	const lowerBound = ci[0] ?? 0;
	let reason: string;
	if (policy.promoteTo !== "canary") reason = "automatic promotion is off (shadow.promoteTo)";
	else if (shadow.compared < policy.minComparisons)
		reason = `waiting for ${policy.minComparisons - shadow.compared} more comparisons`;
	else if (failing.length > 0) reason = `guardrail failing: ${failing.join(", ")}`;
	else if (lowerBound < policy.minAgreement)
		reason = `agreement ${(agreement * 100).toFixed(1)} % (lower bound ${(lowerBound * 100).toFixed(1)} %) is below ${(policy.minAgreement * 100).toFixed(1)} %`;
	else
		reason = `agreement ${(agreement * 100).toFixed(1)} % over ${shadow.compared} comparisons (lower bound ${(lowerBound * 100).toFixed(1)} %)`;
	const ready =
		policy.promoteTo === "canary" &&
		shadow.compared >= policy.minComparisons &&
		failing.length === 0 &&
		lowerBound >= policy.minAgreement;
	return {
		strategy: "shadow",
		comparisons: {
			compared: shadow.compared,
			agreed: shadow.agreed,
			uncomparable: shadow.uncomparable,
			agreement,
			ci,
		},
		champion: summarize(champion),
		candidate: summarize(shadow),
		guardrails,
		promotion: {
			enabled: policy.promoteTo === "canary",
			minComparisons: policy.minComparisons,
			minAgreement: policy.minAgreement,
			ready,
			reason,
		},
	};
}
