/**
 * What an answer's body showed, as an observation carries it: timings, token
 * usage, tokens per second and cost. Pure.
 */
import { costOf, type Price, tokensPerSecond, type Usage } from "./usage";

export interface AnswerStats {
	/** From the start of the call to the first body byte, ms. */
	ttfbMs?: number;
	/** To the first streamed token, ms. */
	ttftMs?: number;
	/** To the end of the body, ms. */
	durationMs?: number;
	promptTokens?: number;
	completionTokens?: number;
	tokensPerSecond?: number;
	/** In the currency of the backend's price. */
	cost?: number;
}

export interface BodyTimings {
	ttfbMs?: number;
	ttftMs?: number;
	durationMs: number;
	usage?: Usage;
}

/**
 * The stats of an answer: its timings, its usage, tokens per second over the
 * generation (after the first token, or the first byte), and its cost from
 * the backend's price or stated cost header.
 */
export function answerStats(
	timings: BodyTimings,
	price: Price | undefined,
	statedCost: string | null,
): AnswerStats {
	const { usage } = timings;
	const generationStart = timings.ttftMs ?? timings.ttfbMs ?? 0;
	const tps = tokensPerSecond(usage, timings.durationMs - generationStart);
	const cost = costOf(price, usage, statedCost);
	return {
		...(timings.ttfbMs !== undefined ? { ttfbMs: timings.ttfbMs } : {}),
		...(timings.ttftMs !== undefined ? { ttftMs: timings.ttftMs } : {}),
		durationMs: timings.durationMs,
		...(usage
			? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens }
			: {}),
		...(tps !== undefined ? { tokensPerSecond: tps } : {}),
		...(cost !== undefined ? { cost } : {}),
	};
}
