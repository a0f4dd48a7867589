/**
 * The canary report: the guardrails over every minute of the rollout, the
 * hard error-rate ceiling and the sample-ratio test over the current step,
 * the step's progress, and the power report. The current step's window (for
 * minRequests, the ceiling and the sample-ratio test) is derived from
 * `state.since` and the current routing threshold. Pure.
 */
import { routingOf } from "../../config/state";
import { counted, errorsOf, exposure } from "../../metrics/aggregate";
import {
	alignStrata,
	feedbackStrata,
	feedbackTotals,
	mergeArm,
	pooledHistogram,
	strataOf,
} from "../../signals/strata";
import type { GuardrailResult } from "../../signals/types";
import { type SequentialSrm, sequentialSrm } from "../../stats";
import { type PowerReport, powerOf } from "../power";
import { summarize, type VariantSummary } from "../summary";
import { guardrailAlpha, runGuardrails } from "./guardrails";
import type { AnalysisInput } from "./input";

/** The hard ceiling needs this many candidate requests in the step, so one early error cannot trip it. */
export const CEILING_MIN_REQUESTS = 20;

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

export function canaryReport(input: AnalysisInput): CanaryReport {
	const { spec, state, now, memory } = input;
	const policy = spec.canary;
	const threshold = routingOf(spec, state).mode === "split" ? Math.round(state.weight * 100) : 0;
	const since = state.since ?? null;
	const sinceMinute = since ? Math.floor(Date.parse(since) / 60_000) : Number.NEGATIVE_INFINITY;
	const strata = strataOf(input.rows);
	const step = strataOf(
		input.rows.filter((r) => r.threshold === threshold && r.minute >= sinceMinute),
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
	const totals = feedbackTotals(input.feedback);
	const feedback = feedbackStrata(input.feedback, now, spec.feedbackDelaySeconds);
	// With onSrm "abort" the sample-ratio test spends its share of alpha like a guardrail.
	const srmAborts = policy.onSrm === "abort";
	const alpha = guardrailAlpha(spec, "canary", srmAborts ? 1 : 0);
	const guardrails = runGuardrails("canary", { spec, strata, aligned, feedback }, alpha, memory);
	const comparisonSteps = Math.max(1, policy.steps.filter((w) => w < 100).length);
	const srmKey = `srm_${threshold}_${Number.isFinite(sinceMinute) ? sinceMinute : 0}`;
	const srm = sequentialSrm(
		step.map((s) => ({ champion: counted(s.champion), candidate: counted(s.candidate) })),
		threshold / 10_000,
		{
			alpha: (srmAborts ? alpha : policy.srmAlpha) / comparisonSteps,
			previousPValue: memory.prior(srmKey),
		},
	);
	memory.remember(srmKey, srm.pValue);
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
		power: powerOf(spec, strata, champion, alpha),
	};
}
