/**
 * The A/B report: every A/B metric of the signal registry compared within
 * time (the LLM answer metrics when measured, or when one decides), the
 * verdict on the spec's metric at its always-valid p-value, the sample-ratio
 * test at the current weight, and how many more requests the decision needs.
 * Pure.
 */
import type { DeploymentSpec } from "../../config/spec";
import type { VariantAggregate } from "../../metrics/aggregate";
import { counted } from "../../metrics/aggregate";
import { AB_COMPARISONS, abComparison } from "../../signals/registry";
import { feedbackStrata, feedbackTotals, mergeArm, strataOf } from "../../signals/strata";
import type { AbMetric, MetricComparison } from "../../signals/types";
import { type Moments, moreSamplesNeeded, type SequentialSrm, sequentialSrm } from "../../stats";
import { summarize, type VariantSummary } from "../summary";
import type { AnalysisInput } from "./input";

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

export function abReport(input: AnalysisInput): AbReport {
	const { spec, state, memory } = input;
	const policy = spec.ab;
	const strata = strataOf(input.rows);
	const champion = mergeArm(strata, "champion");
	const candidate = mergeArm(strata, "candidate");
	const totals = feedbackTotals(input.feedback);
	const evidence = {
		spec,
		strata,
		feedback: feedbackStrata(input.feedback, input.now, spec.feedbackDelaySeconds),
		champion,
		candidate,
		memory,
	};
	const metrics = AB_COMPARISONS.filter(
		(c) => c.always || c.metric === policy.metric || c.measured(champion, candidate),
	).map((c) => c.compare(evidence));
	const primary = metrics.find((m) => m.metric === policy.metric) as MetricComparison;
	const significant =
		primary.insufficient === undefined && primary.alwaysValidPValue <= policy.alpha;
	const candidateBetter =
		primary.worse === "higher" ? primary.difference < 0 : primary.difference > 0;
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
		{ alpha: policy.srmAlpha, previousPValue: memory.prior(srmKey) },
	);
	memory.remember(srmKey, srm.pValue);
	const needsMore =
		verdict === "no_difference_yet"
			? samplesStillNeeded(primary, { champion, candidate }, totals, policy)
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

function samplesStillNeeded(
	primary: MetricComparison,
	arms: { champion: VariantAggregate; candidate: VariantAggregate },
	feedback: { champion: Moments; candidate: Moments },
	policy: DeploymentSpec["ab"],
): number | null {
	const effect = policy.minDetectableEffect ?? Math.abs(primary.difference);
	const ratio =
		policy.weight > 0 && policy.weight < 100 ? policy.weight / (100 - policy.weight) : 1;
	const [varianceA, varianceB] = abComparison(primary.metric).variances(primary, arms, feedback);
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
