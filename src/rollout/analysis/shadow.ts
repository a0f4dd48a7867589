/**
 * The shadow report: how often the candidate's copies agreed with the
 * champion (with a Wilson interval), the guardrails on the copies (no
 * feedback: no one saw them), and whether the shadow is ready to move on to
 * its canary. Pure.
 */
import { alignStrata, mergeArm, pooledHistogram, strataOf } from "../../signals/strata";
import type { GuardrailResult } from "../../signals/types";
import { type Interval, wilsonInterval } from "../../stats";
import { summarize, type VariantSummary } from "../summary";
import { guardrailAlpha, runGuardrails } from "./guardrails";
import type { AnalysisInput } from "./input";

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

export function shadowReport(input: AnalysisInput): ShadowReport {
	const { spec } = input;
	const strata = strataOf(input.rows, "shadow");
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
	const guardrails = runGuardrails(
		"shadow",
		{ spec, strata, aligned, feedback: null },
		guardrailAlpha(spec, "shadow"),
		input.memory,
	);
	const policy = spec.shadow;
	const failing = guardrails.filter((g) => g.status === "fail").map((g) => g.name);
	const lowerBound = ci[0] ?? 0;
	const enabled = policy.promoteTo === "canary";
	let reason: string;
	if (!enabled) reason = "automatic promotion is off (shadow.promoteTo)";
	else if (shadow.compared < policy.minComparisons)
		reason = `waiting for ${policy.minComparisons - shadow.compared} more comparisons`;
	else if (failing.length > 0) reason = `guardrail failing: ${failing.join(", ")}`;
	else if (lowerBound < policy.minAgreement)
		reason = `agreement ${(agreement * 100).toFixed(1)} % (lower bound ${(lowerBound * 100).toFixed(1)} %) is below ${(policy.minAgreement * 100).toFixed(1)} %`;
	else
		reason = `agreement ${(agreement * 100).toFixed(1)} % over ${shadow.compared} comparisons (lower bound ${(lowerBound * 100).toFixed(1)} %)`;
	const ready =
		enabled &&
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
			enabled,
			minComparisons: policy.minComparisons,
			minAgreement: policy.minAgreement,
			ready,
			reason,
		},
	};
}
