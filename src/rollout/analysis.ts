/**
 * The analysis report of a deployment: what the controller decides on and
 * what the admin API shows. Pure: takes the spec, the state and the stored
 * per-minute rows, returns plain data (JSON-safe: no Infinity, no NaN).
 *
 * Every comparison is made within time: the rows are paired by minute and
 * routing threshold (strata.ts) and the tests combine the per-minute
 * comparisons over the whole rollout, so changes that hit both arms in the
 * same minutes (incidents, the time of day) never count against the
 * candidate. The current step's window (for minRequests, the ceiling and the
 * sample-ratio test) is derived here from `state.since` and the current
 * threshold.
 */
import type { DeploymentSpec } from "../config/spec";
import type { RolloutState } from "../config/state";
import { routingOf } from "../config/state";
import {
	counted,
	errorsOf,
	exposure,
	type FeedbackMinute,
	type MinuteRow,
	type VariantAggregate,
} from "../metrics/aggregate";
import { alignedCounts, histogramBins } from "../metrics/histogram";
import type { SignalDisplay } from "../signals/types";
import {
	type CountStratum,
	countMixtureTest,
	emptyMoments,
	type Interval,
	type MeanStratum,
	mannWhitneyBuckets,
	moreSamplesNeeded,
	normalQuantile,
	normalTwoSided,
	quantileInterval,
	relativeDifference,
	type SequentialSrm,
	sampleVariance,
	sequentialSrm,
	sequentialTest,
	stratifiedDifference,
	wilsonInterval,
} from "../stats";
import {
	costGuardrail,
	ERROR_DISPERSION_PRIOR,
	errorRateGuardrail,
	feedbackGuardrail,
	type GuardrailResult,
	latencyGuardrails,
	latencyName,
} from "./guardrails";
import { type PowerReport, powerOf } from "./power";
import {
	alignStrata,
	feedbackStrata,
	feedbackTotals,
	mergeArm,
	pooledHistogram,
	type Stratum,
	strataOf,
} from "./strata";
import { summarize, type VariantSummary } from "./summary";

/** How each A/B metric is shown (feedback and tokens: worse per the spec's `better`). */
function abDisplay(metric: AbMetric, better: "higher" | "lower"): SignalDisplay {
	const chosen = better === "higher" ? "lower" : "higher";
	switch (metric) {
		case "error_rate":
			return { label: "error rate", unit: "ratio", worse: "higher" };
		case "latency":
			return { label: "mean latency", unit: "ms", worse: "higher" };
		case "ttft":
			return { label: "mean TTFT", unit: "ms", worse: "higher" };
		case "cost":
			return { label: "cost per request", unit: "currency", worse: "higher" };
		case "tokens":
			return { label: "completion tokens", unit: "tokens", worse: chosen };
		case "feedback":
			return { label: "feedback", unit: "score", worse: chosen };
	}
}

/**
 * What the analysis reads: every stored row of the current rollout epoch from
 * the rollout's start on (QA-pinned rows, threshold < 0, already left out),
 * and the feedback per request minute of the same epoch.
 */
export interface AnalysisWindows {
	minutes: MinuteRow[];
	feedback: FeedbackMinute[];
}

/** Always-valid p-values carried from look to look, per rollout (small, JSON-safe). */
export interface AnalysisMemory {
	/** Memories of an older shape are discarded: their p-values belong to other tests. */
	version: 2;
	/** The rollout (its startedAt) the p-values belong to. */
	rollout: string | null;
	/** Running minimum of each test's always-valid p-value, by test key. */
	pValues: Record<string, number>;
}

export const EMPTY_MEMORY: AnalysisMemory = { version: 2, rollout: null, pValues: {} };

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
	/** The current step's sequential sample-ratio test. */
	srm: SequentialSrm;
	/** Expected minutes to catch a harmful candidate at the observed traffic. */
	power: PowerReport;
}

export type AbMetric = "error_rate" | "latency" | "feedback" | "ttft" | "cost" | "tokens";

export interface MetricComparison extends SignalDisplay {
	metric: AbMetric;
	/** The champion's value over the same minutes as the candidate's (stratified). */
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
	/** Latency only: the Mann–Whitney p-value on the pooled histograms (robust to outliers). */
	mannWhitneyPValue?: number;
	/** Variance inflation from minute-to-minute overdispersion (1: none measured). */
	dispersion: number;
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
	srm: SequentialSrm;
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

/** The p-values of a memory that belongs to this rollout and has the current shape; none otherwise. */
function carried(memory: AnalysisMemory | null | undefined, rollout: string | null) {
	if (memory?.version !== 2 || memory.rollout !== rollout) return {};
	return typeof memory.pValues === "object" && memory.pValues !== null ? memory.pValues : {};
}

export function analyze(
	spec: DeploymentSpec,
	state: RolloutState,
	windows: AnalysisWindows,
	memory: AnalysisMemory,
	now: number,
): Analysis {
	const rolloutId = state.startedAt ?? null;
	const previous = carried(memory, rolloutId);
	const pValues: Record<string, number> = {};
	const remember = (key: string, p: number) => {
		pValues[key] = p;
		return p;
	};
	const prior = (key: string) => {
		const p = previous[key];
		return typeof p === "number" && p >= 0 && p <= 1 ? p : 1;
	};
	const rows = windows.minutes.filter((r) => r.threshold >= 0);
	const context: Context = { spec, state, rows, feedback: windows.feedback, now, prior, remember };
	const mode = modeOf(spec, state);
	const report =
		mode === "shadow"
			? shadowReport(context)
			: mode === "ab"
				? abReport(context)
				: canaryReport(context);
	return { report, memory: { version: 2, rollout: rolloutId, pValues } };
}

interface Context {
	spec: DeploymentSpec;
	state: RolloutState;
	rows: MinuteRow[];
	feedback: FeedbackMinute[];
	now: number;
	prior: (key: string) => number;
	remember: (key: string, p: number) => number;
}

/**
 * The guardrails over the rollout's strata, alpha split evenly across the
 * active ones (and the sample-ratio test when it aborts).
 */
function guardrailsFor(
	context: Context,
	strata: readonly Stratum[],
	feedback: MeanStratum[] | null,
	alpha: number,
	aligned: ReturnType<typeof alignStrata>,
): GuardrailResult[] {
	const policy = context.spec.canary;
	const { prior, remember } = context;
	const options = (key: string) => ({
		alpha,
		previousPValue: prior(key),
		nStar: policy.nStar,
	});
	const results = [
		errorRateGuardrail(strata, policy.maxErrorRateIncrease, options("error_rate")),
		...latencyGuardrails(
			strata,
			policy.latencyQuantiles,
			{ pct: policy.maxLatencyIncreasePct, ms: policy.maxLatencyIncreaseMs },
			(q) => options(latencyName(q)),
			aligned,
		),
	];
	if (feedback && policy.feedback) {
		results.push(feedbackGuardrail(feedback, policy.feedback, options("feedback")));
	}
	if (policy.ttft) {
		const ttft = answerStrata(strata, "ttft");
		results.push(
			...latencyGuardrails(
				ttft,
				[policy.ttft.quantile],
				{ pct: policy.ttft.maxIncreasePct },
				(q) => options(latencyName(q, "ttft")),
				alignStrata(ttft),
				"ttft",
			),
		);
	}
	if (policy.maxCostIncreasePct !== undefined) {
		results.push(
			costGuardrail(answerMeans(strata, "cost"), policy.maxCostIncreasePct, options("cost")),
		);
	}
	for (const r of results) remember(r.name, r.pValue);
	return results;
}

/**
 * Number of guardrails a canary runs (error rate, each latency quantile,
 * feedback, TTFT and cost when set): fixed by the spec, so alpha is split the
 * same way at every look.
 */
function guardrailCount(spec: DeploymentSpec, withFeedback: boolean): number {
	const policy = spec.canary;
	return (
		1 +
		policy.latencyQuantiles.length +
		(withFeedback && policy.feedback ? 1 : 0) +
		(policy.ttft ? 1 : 0) +
		(policy.maxCostIncreasePct !== undefined ? 1 : 0)
	);
}

/** The strata seen through one timed answer metric: its histogram in place of the latency's. */
function answerStrata(strata: readonly Stratum[], metric: "ttft"): Stratum[] {
	const view = (a: VariantAggregate): VariantAggregate => {
		const m = a.answers[metric];
		return { ...a, histogram: m?.histogram ?? {}, latency: m?.moments ?? emptyMoments() };
	};
	return strata.map((s) => ({ ...s, champion: view(s.champion), candidate: view(s.candidate) }));
}

/** One answer metric's per-minute means, for the stratified tests. */
function answerMeans(
	strata: readonly Stratum[],
	metric: "cost" | "ttft" | "completionTokens",
): MeanStratum[] {
	const moments = (a: VariantAggregate) => a.answers[metric]?.moments ?? emptyMoments();
	return strata.map((s) => ({ a: moments(s.champion), b: moments(s.candidate) }));
}

function canaryReport(context: Context): CanaryReport {
	const { spec, state, now } = context;
	const policy = spec.canary;
	const threshold = routingOf(spec, state).mode === "split" ? Math.round(state.weight * 100) : 0;
	const since = state.since ?? null;
	const sinceMinute = since ? Math.floor(Date.parse(since) / 60_000) : Number.NEGATIVE_INFINITY;
	const strata = strataOf(context.rows);
	const step = strataOf(
		context.rows.filter((r) => r.threshold === threshold && r.minute >= sinceMinute),
	);
	const stepChampion = mergeArm(step, "champion");
	const stepCandidate = mergeArm(step, "candidate");
	// One dense copy of every histogram serves the latency guardrails and the summaries.
	const aligned = alignStrata(strata);
	const champion = {
		...mergeArm(strata, "champion", false),
		histogram: pooledHistogram(aligned, "champion"),
	};
	const candidate = {
		...mergeArm(strata, "candidate", false),
		histogram: pooledHistogram(aligned, "candidate"),
	};
	const totals = feedbackTotals(context.feedback);
	const feedback = feedbackStrata(context.feedback, now, spec.feedbackDelaySeconds);
	// With onSrm "abort" the sample-ratio test spends its share of alpha like a guardrail.
	const srmAborts = policy.onSrm === "abort";
	const shares = guardrailCount(spec, true) + (srmAborts ? 1 : 0);
	const alpha = policy.alpha / shares;
	const guardrails = guardrailsFor(context, strata, feedback, alpha, aligned);
	const comparisonSteps = Math.max(1, policy.steps.filter((w) => w < 100).length);
	const srmKey = `srm_${threshold}_${Number.isFinite(sinceMinute) ? sinceMinute : 0}`;
	const srm = sequentialSrm(
		step.map((s) => ({ champion: counted(s.champion), candidate: counted(s.candidate) })),
		threshold / 10_000,
		{
			alpha: (srmAborts ? alpha : policy.srmAlpha) / comparisonSteps,
			previousPValue: context.prior(srmKey),
		},
	);
	context.remember(srmKey, srm.pValue);
	const candidateErrors = errorsOf(stepCandidate);
	const candidateExposure = exposure(stepCandidate);
	const candidateErrorRate = candidateExposure > 0 ? candidateErrors / candidateExposure : 0;
	return {
		strategy: "canary",
		step: {
			index: state.step,
			weight: state.weight,
			since,
			elapsedSeconds: since ? Math.max(0, (now - Date.parse(since)) / 1000) : 0,
			bakeSeconds: policy.bakeSeconds,
			minRequests: policy.minRequests,
			champion: counted(stepChampion),
			candidate: counted(stepCandidate),
		},
		rollout: {
			champion: summarize(champion, totals.champion),
			candidate: summarize(candidate, totals.candidate),
		},
		guardrails,
		ceiling: {
			limit: policy.maxErrorRate,
			candidateErrorRate,
			candidateRequests: candidateExposure,
			breached:
				candidateExposure >= CEILING_MIN_REQUESTS && candidateErrorRate > policy.maxErrorRate,
		},
		srm,
		power: powerFor(spec, strata, champion, alpha),
	};
}

/** The hard ceiling needs this many candidate requests in the step, so one early error cannot trip it. */
export const CEILING_MIN_REQUESTS = 20;

/** Expected minutes to catch a harmful candidate, from the traffic observed so far. */
function powerFor(
	spec: DeploymentSpec,
	strata: readonly Stratum[],
	champion: VariantAggregate,
	alpha: number,
): PowerReport {
	const first = strata[0]?.minute;
	const last = strata[strata.length - 1]?.minute;
	let requests = 0;
	for (const s of strata) requests += s.champion.requests + s.candidate.requests;
	const minutes = first === undefined || last === undefined ? 0 : last - first + 1;
	const bins = histogramBins(champion.histogram);
	return powerOf({
		policy: spec.canary,
		requestsPerMinute: minutes > 0 ? requests / minutes : 0,
		errorRate: exposure(champion) > 0 ? errorsOf(champion) / exposure(champion) : 0,
		latency: spec.canary.latencyQuantiles.map((q) => {
			const estimate = quantileInterval(bins, q);
			const relative = estimate.estimate > 0 ? estimate.se / estimate.estimate : 0;
			return {
				name: latencyName(q),
				quantileMs: estimate.estimate,
				unitVariance: estimate.n * (1 - q) >= 10 ? relative * relative * estimate.n : 0,
			};
		}),
		alpha,
	});
}

function abReport(context: Context): AbReport {
	const { spec, state } = context;
	const policy = spec.ab;
	const strata = strataOf(context.rows);
	const champion = mergeArm(strata, "champion");
	const candidate = mergeArm(strata, "candidate");
	const totals = feedbackTotals(context.feedback);
	const feedback = feedbackStrata(context.feedback, context.now, spec.feedbackDelaySeconds);
	const metrics: MetricComparison[] = [
		errorRateComparison(context, strata),
		latencyComparison(context, strata, champion, candidate),
		meanComparison(context, "feedback", feedback),
	];
	// LLM answers: shown when any were measured, and always when one decides.
	for (const [metric, source] of [
		["ttft", "ttft"],
		["cost", "cost"],
		["tokens", "completionTokens"],
	] as const) {
		const measured =
			champion.answers[source] !== undefined || candidate.answers[source] !== undefined;
		if (measured || policy.metric === metric)
			metrics.push(meanComparison(context, metric, answerMeans(strata, source)));
	}
	const primary = metrics.find((m) => m.metric === policy.metric) as MetricComparison;
	const higherIsBetter =
		(policy.metric === "feedback" || policy.metric === "tokens") && policy.better === "higher";
	const lowerIsBetter = !higherIsBetter;
	const significant =
		primary.insufficient === undefined && primary.alwaysValidPValue <= policy.alpha;
	const candidateBetter = lowerIsBetter ? primary.difference < 0 : primary.difference > 0;
	const verdict: AbVerdict = significant
		? candidateBetter
			? "candidate_better"
			: "candidate_worse"
		: "no_difference_yet";
	// The sample-ratio test at the weight the test runs at now.
	const threshold = Math.round(state.weight * 100);
	const current = strata.filter((s) => s.threshold === threshold);
	const srmKey = `srm_${threshold}`;
	const srm = sequentialSrm(
		current.map((s) => ({ champion: counted(s.champion), candidate: counted(s.candidate) })),
		threshold / 10_000,
		{ alpha: policy.srmAlpha, previousPValue: context.prior(srmKey) },
	);
	context.remember(srmKey, srm.pValue);
	const needsMore =
		verdict === "no_difference_yet"
			? samplesStillNeeded(primary, champion, candidate, totals, policy)
			: 0;
	return {
		strategy: "ab",
		weight: state.weight,
		champion: summarize(champion, totals.champion),
		candidate: summarize(candidate, totals.candidate),
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

const Z95 = normalQuantile(0.975);

/**
 * A/B error rate: the two-sided conditional-binomial mixture over the
 * minutes (the same machinery as the canary's guardrail), with the rate
 * ratio's fixed-horizon interval for the report.
 */
function errorRateComparison(context: Context, strata: readonly Stratum[]): MetricComparison {
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
		alpha: context.spec.ab.alpha,
		previousPValue: context.prior(key),
		dispersionPrior: ERROR_DISPERSION_PRIOR,
	});
	context.remember(key, test.pValue);
	const pa = requestsB > 0 ? standardised / requestsB : 0;
	const pb = requestsB > 0 ? errorsB / requestsB : 0;
	// A rate ratio beyond e^±50 says nothing more, and keeps the report finite.
	const lo = Math.max(-50, test.logRatio - Z95 * test.se);
	const hi = Math.min(50, test.logRatio + Z95 * test.se);
	const informative = test.se > 0 && pa > 0;
	return {
		metric: "error_rate",
		...abDisplay("error_rate", context.spec.ab.better),
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
}

function latencyComparison(
	context: Context,
	strata: readonly Stratum[],
	champion: VariantAggregate,
	candidate: VariantAggregate,
): MetricComparison {
	const comparison = meanComparison(
		context,
		"latency",
		strata.map((s) => ({ a: s.champion.latency, b: s.candidate.latency })),
	);
	const [a, b] = alignedCounts(champion.histogram, candidate.histogram);
	const mw = mannWhitneyBuckets(a, b);
	// The stratified mean decides; the Mann–Whitney p-value is reported as the robust alternative.
	return mw.insufficient ? comparison : { ...comparison, mannWhitneyPValue: mw.pValue };
}

/** A difference of means within time (stratified), with fixed-horizon and always-valid p-values. */
function meanComparison(
	context: Context,
	metric: AbMetric,
	strata: readonly MeanStratum[],
): MetricComparison {
	const d = stratifiedDifference(strata);
	const key = `ab_${metric}`;
	const test = sequentialTest({
		estimate: d.estimate,
		variance: d.variance,
		n: d.n,
		alpha: context.spec.ab.alpha,
		previousPValue: context.prior(key),
	});
	context.remember(key, test.pValue);
	const usable = !d.insufficient && d.variance > 0;
	return {
		metric,
		...abDisplay(metric, context.spec.ab.better),
		champion: d.champion,
		candidate: d.candidate,
		difference: d.estimate,
		ci: usable ? [d.estimate - Z95 * d.se, d.estimate + Z95 * d.se] : [null, null],
		relative: usable
			? relativeDifference(d.champion, d.championVariance, d.candidate, d.candidateVariance, 0.95)
			: null,
		pValue: usable ? normalTwoSided(d.estimate / d.se) : 1,
		alwaysValidPValue: test.pValue,
		n: { champion: d.na, candidate: d.nb },
		dispersion: d.dispersion.a,
		...(d.insufficient
			? { insufficient: d.insufficient }
			: usable
				? {}
				: { insufficient: "no variance yet" }),
	};
}

function samplesStillNeeded(
	primary: MetricComparison,
	champion: VariantAggregate,
	candidate: VariantAggregate,
	feedback: { champion: VariantAggregate["latency"]; candidate: VariantAggregate["latency"] },
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
		const answers = { ttft: "ttft", cost: "cost", tokens: "completionTokens" } as const;
		const [a, b] =
			primary.metric === "latency"
				? [champion.latency, candidate.latency]
				: primary.metric === "feedback"
					? [feedback.champion, feedback.candidate]
					: [
							champion.answers[answers[primary.metric]]?.moments ?? emptyMoments(),
							candidate.answers[answers[primary.metric]]?.moments ?? emptyMoments(),
						];
		varianceA = sampleVariance(a);
		varianceB = sampleVariance(b);
	}
	const dispersion = Math.max(1, primary.dispersion);
	const more = moreSamplesNeeded({
		varianceA: varianceA * dispersion,
		varianceB: varianceB * dispersion,
		effect,
		ratio,
		alpha: policy.alpha,
		currentB: primary.n.candidate,
	});
	return Number.isFinite(more) && more > 0 ? more : null;
}

function shadowReport(context: Context): ShadowReport {
	const { spec } = context;
	const strata = strataOf(context.rows, "shadow");
	const aligned = alignStrata(strata);
	const champion = {
		...mergeArm(strata, "champion", false),
		histogram: pooledHistogram(aligned, "champion"),
	};
	const shadow = {
		...mergeArm(strata, "candidate", false),
		histogram: pooledHistogram(aligned, "candidate"),
	};
	const agreement = shadow.compared > 0 ? shadow.agreed / shadow.compared : 0;
	const ci = wilsonInterval({ successes: shadow.agreed, n: shadow.compared });
	const alpha = spec.canary.alpha / guardrailCount(spec, false);
	const guardrails = guardrailsFor(context, strata, null, alpha, aligned);
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
