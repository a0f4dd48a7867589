/**
 * Time to first token of streamed LLM answers (the first SSE data event
 * with content), from the start of the backend call.
 *
 * Guardrail (`canary.ttft`, off when absent): the candidate's TTFT quantile
 * may be at most `maxIncreasePct` % above the champion's over the same
 * minutes — the latency quantile test (latency.ts) on the TTFT histograms.
 * As an A/B metric: the stratified difference in mean TTFT.
 */
import {
	answered,
	answerMean,
	answerMeans,
	answerQuantile,
	answerStrata,
	answerVariance,
} from "./answers";
import { latencyName, quantileGuardrail } from "./latency";
import { meanComparison } from "./mean-comparison";
import { alignStrata } from "./strata";
import type { AbComparison, Guardrail, Measure, Signal } from "./types";

function guardrails(spec: Parameters<NonNullable<Signal["guardrails"]>>[0]): Guardrail[] {
	const ttft = spec.canary.ttft;
	if (!ttft) return [];
	return [
		{
			name: latencyName(ttft.quantile, "ttft"),
			run(evidence, options) {
				const strata = answerStrata(evidence.strata, "ttft");
				return quantileGuardrail(
					strata,
					alignStrata(strata),
					ttft.quantile,
					{ pct: ttft.maxIncreasePct },
					options,
					"ttft",
				);
			},
		},
	];
}

const ab: AbComparison = {
	metric: "ttft",
	always: false,
	measured: answered("ttft"),
	compare: ({ spec, strata, memory }) =>
		meanComparison(
			"ttft",
			{ label: "mean TTFT", unit: "ms", worse: "higher" },
			answerMeans(strata, "ttft"),
			spec.ab.alpha,
			memory,
		),
	variances: (_primary, { champion, candidate }) => [
		answerVariance(champion, "ttft"),
		answerVariance(candidate, "ttft"),
	],
};

const TTFT_HELP = "Quantiles of the time to first token of streamed answers per variant";

const measures: Measure[] = [
	answerMean(
		"ttft",
		"answers.ttft.mean",
		"ttft_mean_ms",
		{
			name: "switchyard_ttft_mean_milliseconds",
			help: "Mean time to first token of streamed answers per variant",
		},
		true,
	),
	...[0.5, 0.95].map((q) =>
		answerQuantile("ttft", q, `answers.ttft.p${q * 100}`, `ttft_p${q * 100}_ms`, {
			name: "switchyard_ttft_milliseconds",
			help: TTFT_HELP,
			labels: { quantile: String(q) },
		}),
	),
];

export const ttft: Signal = { name: "ttft", guardrails, ab, measures };
