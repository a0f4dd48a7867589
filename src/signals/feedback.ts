/**
 * Feedback: outcomes attributed through `POST /v1/feedback` (a label match,
 * a conversion, a reward), per request minute, compared only over minutes
 * whose feedback has matured in both arms (`feedbackDelaySeconds`).
 *
 * Guardrail (`canary.feedback`, off when absent): H1 is the candidate worse
 * by more than the margin in the configured direction, the stratified
 * difference in means in the mixture SPRT. Not run on a shadow's copies (no
 * one sees them). As an A/B metric (the default): the stratified difference
 * in means, better in the direction `ab.better` says.
 */
import { formatP } from "../lib/format";
import { type MeanStratum, sampleVariance, sequentialTest, stratifiedDifference } from "../stats";
import { type GuardrailBase, insufficient } from "./guardrail";
import { meanComparison } from "./mean-comparison";
import type {
	AbComparison,
	Guardrail,
	GuardrailOptions,
	GuardrailResult,
	Signal,
	SignalDisplay,
} from "./types";

function display(better: "higher" | "lower"): SignalDisplay {
	return { label: "feedback", unit: "score", worse: better === "higher" ? "lower" : "higher" };
}

export function feedbackGuardrail(
	strata: readonly MeanStratum[],
	policy: { better: "higher" | "lower"; margin: number },
	options: GuardrailOptions,
): GuardrailResult {
	const d = stratifiedDifference(strata);
	const base: GuardrailBase = {
		name: "feedback",
		...display(policy.better),
		champion: d.champion,
		candidate: d.candidate,
		difference: d.estimate,
		margin: policy.margin,
		alpha: options.alpha,
	};
	if (d.insufficient || d.na < 2 || d.nb < 2 || !(d.variance > 0)) {
		return insufficient(
			base,
			options.previousPValue,
			`feedback from ${d.na} champion and ${d.nb} candidate requests in matured minutes shared by both`,
			d.strata,
		);
	}
	const higherIsBetter = policy.better === "higher";
	const test = sequentialTest({
		estimate: d.estimate,
		variance: d.variance,
		n: d.n,
		nullValue: higherIsBetter ? -policy.margin : policy.margin,
		alternative: higherIsBetter ? "less" : "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const failed = test.pValue <= options.alpha;
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci: higherIsBetter ? [null, test.ci[1]] : [test.ci[0], null],
		dispersion: d.dispersion.a,
		strata: d.strata,
		detail: `feedback mean ${d.candidate.toFixed(4)} (n = ${d.nb}) vs champion ${d.champion.toFixed(4)} (n = ${d.na}) in the same matured minutes, ${policy.better} is better, allowed ${policy.margin} worse (p = ${formatP(test.pValue)})`,
	};
}

function guardrails(
	spec: Parameters<NonNullable<Signal["guardrails"]>>[0],
	mode: Parameters<NonNullable<Signal["guardrails"]>>[1],
): Guardrail[] {
	const policy = spec.canary.feedback;
	if (!policy || mode === "shadow") return [];
	return [
		{
			name: "feedback",
			run: (evidence, options) => feedbackGuardrail(evidence.feedback ?? [], policy, options),
		},
	];
}

const ab: AbComparison = {
	metric: "feedback",
	always: true,
	measured: () => true,
	compare: ({ spec, feedback, memory }) =>
		meanComparison("feedback", display(spec.ab.better), feedback, spec.ab.alpha, memory),
	variances: (_primary, _arms, feedback) => [
		sampleVariance(feedback.champion),
		sampleVariance(feedback.candidate),
	],
};

export const feedback: Signal = {
	name: "feedback",
	guardrails,
	ab,
	measures: [
		{ path: "feedback.n", csv: "feedback_n", read: ({ feedback }) => feedback.n },
		{ path: "feedback.mean", csv: "feedback_mean", read: ({ feedback }) => feedback.mean },
	],
};
