/**
 * Token usage of LLM answers (OpenAI-compatible `usage`, or counted from a
 * stream): prompt and completion tokens per request and tokens per second.
 * As an A/B metric: mean completion tokens per request, better in the
 * direction `ab.better` says.
 */
import { answered, answerMean, answerMeans, answerVariance } from "./answers";
import { meanComparison } from "./mean-comparison";
import type { AbComparison, Signal } from "./types";

const TOKENS_HELP = "Mean tokens per answer per variant and kind (prompt, completion)";

const ab: AbComparison = {
	metric: "tokens",
	always: false,
	measured: answered("completionTokens"),
	compare: ({ spec, strata, memory }) =>
		meanComparison(
			"tokens",
			{
				label: "completion tokens",
				unit: "tokens",
				worse: spec.ab.better === "higher" ? "lower" : "higher",
			},
			answerMeans(strata, "completionTokens"),
			spec.ab.alpha,
			memory,
		),
	variances: (_primary, { champion, candidate }) => [
		answerVariance(champion, "completionTokens"),
		answerVariance(candidate, "completionTokens"),
	],
};

export const tokens: Signal = {
	name: "tokens",
	ab,
	measures: [
		answerMean("promptTokens", "answers.promptTokens", "prompt_tokens_mean", {
			name: "switchyard_tokens_mean",
			help: TOKENS_HELP,
			labels: { kind: "prompt" },
		}),
		answerMean("completionTokens", "answers.completionTokens", "completion_tokens_mean", {
			name: "switchyard_tokens_mean",
			help: TOKENS_HELP,
			labels: { kind: "completion" },
		}),
		answerMean("tokensPerSecond", "answers.tokensPerSecond", "tokens_per_second_mean", {
			name: "switchyard_tokens_per_second_mean",
			help: "Mean completion tokens per second of streamed answers per variant",
		}),
	],
};
