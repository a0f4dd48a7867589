/**
 * Cost per request of LLM answers: from the backends' token prices or a
 * stated-cost header, in the prices' currency.
 *
 * Guardrail (`canary.maxCostIncreasePct`, off when absent): H1 is the
 * candidate's mean cost more than that many percent above the champion's
 * over the same minutes (the margin is taken from the champion's mean cost,
 * so it is in the currency of the prices), the stratified difference in the
 * mixture SPRT. As an A/B metric: the stratified difference in mean cost.
 */
import { formatP } from "../lib/format";
import type { MeanStratum } from "../stats";
import { sequentialTest, stratifiedDifference } from "../stats";
import { answered, answerMean, answerMeans, answerVariance } from "./answers";
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

const DISPLAY: SignalDisplay = { label: "cost per request", unit: "currency", worse: "higher" };

export function costGuardrail(
	strata: readonly MeanStratum[],
	maxIncreasePct: number,
	options: GuardrailOptions,
): GuardrailResult {
	const d = stratifiedDifference(strata);
	const margin = (d.champion * maxIncreasePct) / 100;
	const base: GuardrailBase = {
		name: "cost",
		...DISPLAY,
		champion: d.champion,
		candidate: d.candidate,
		difference: d.estimate,
		margin,
		alpha: options.alpha,
	};
	if (d.insufficient || d.na < 2 || d.nb < 2 || !(d.variance > 0)) {
		return insufficient(
			base,
			options.previousPValue,
			`cost known for ${d.na} champion and ${d.nb} candidate requests in minutes shared by both (a price or cost header on both backends is needed)`,
			d.strata,
		);
	}
	const test = sequentialTest({
		estimate: d.estimate,
		variance: d.variance,
		n: d.n,
		nullValue: margin,
		alternative: "greater",
		alpha: options.alpha,
		nStar: options.nStar,
		previousPValue: options.previousPValue,
	});
	const failed = test.pValue <= options.alpha;
	return {
		...base,
		status: failed ? "fail" : "pass",
		pValue: test.pValue,
		ci: [test.ci[0], null],
		dispersion: d.dispersion.a,
		strata: d.strata,
		detail: `cost per request ${d.candidate.toPrecision(3)} vs champion ${d.champion.toPrecision(3)} in the same minutes, allowed +${maxIncreasePct} %: ${failed ? "dearer than allowed" : "within the allowance"} (p = ${formatP(test.pValue)}, α = ${options.alpha.toFixed(4)})`,
	};
}

function guardrails(spec: Parameters<NonNullable<Signal["guardrails"]>>[0]): Guardrail[] {
	const pct = spec.canary.maxCostIncreasePct;
	if (pct === undefined) return [];
	return [
		{
			name: "cost",
			run: (evidence, options) => costGuardrail(answerMeans(evidence.strata, "cost"), pct, options),
		},
	];
}

const ab: AbComparison = {
	metric: "cost",
	always: false,
	measured: answered("cost"),
	compare: ({ spec, strata, memory }) =>
		meanComparison("cost", DISPLAY, answerMeans(strata, "cost"), spec.ab.alpha, memory),
	variances: (_primary, { champion, candidate }) => [
		answerVariance(champion, "cost"),
		answerVariance(candidate, "cost"),
	],
};

export const cost: Signal = {
	name: "cost",
	guardrails,
	ab,
	measures: [
		answerMean("cost", "answers.cost", "cost_mean", {
			name: "switchyard_cost_mean",
			help: "Mean cost per answer per variant (the prices' currency)",
		}),
	],
};
