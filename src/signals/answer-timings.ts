/**
 * Timings of watched answers' bodies: time to the first byte and the whole
 * answer's duration. Exported per variant; no guardrail or A/B metric (the
 * header latency and TTFT judge speed).
 */
import { answerMean, answerQuantile } from "./answers";
import type { Signal } from "./types";

export const answerTimings: Signal = {
	name: "answer_timings",
	measures: [
		answerMean("ttfb", "answers.ttfb.mean", "ttfb_mean_ms", undefined, true),
		answerQuantile("ttfb", 0.5, "answers.ttfb.p50", "ttfb_p50_ms"),
		answerQuantile("ttfb", 0.95, "answers.ttfb.p95", "ttfb_p95_ms"),
		answerMean(
			"duration",
			"answers.duration.mean",
			"duration_mean_ms",
			{
				name: "switchyard_answer_duration_mean_milliseconds",
				help: "Mean duration of watched answers (first byte of the call to the end of the body) per variant",
			},
			true,
		),
		answerQuantile("duration", 0.5, "answers.duration.p50", "duration_p50_ms"),
		answerQuantile("duration", 0.95, "answers.duration.p95", "duration_p95_ms"),
	],
};
