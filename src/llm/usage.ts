/**
 * Token usage and cost of a model answer. Pure.
 *
 * Usage comes from the OpenAI-compatible `usage` object (`prompt_tokens`,
 * `completion_tokens`; Workers AI and most model servers use the same
 * names, some `input_tokens`/`output_tokens`). Cost is the backend's price per
 * million tokens applied to it, unless the backend states the request's cost
 * itself in a response header.
 */

export interface Usage {
	promptTokens: number;
	completionTokens: number;
}

export interface Price {
	/** Price of a million input (prompt) tokens, in any currency. */
	inputPer1M?: number;
	/** Price of a million output (completion) tokens. */
	outputPer1M?: number;
	/** A response header carrying the request's cost (e.g. set by a gateway); wins when present. */
	costHeader?: string;
}

const count = (value: unknown): number | undefined =>
	typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;

/** The usage in an answer (or a final stream chunk), when it has one. */
export function usageOf(json: unknown): Usage | undefined {
	if (typeof json !== "object" || json === null) return undefined;
	const usage = (json as Record<string, unknown>).usage;
	if (typeof usage !== "object" || usage === null) return undefined;
	const u = usage as Record<string, unknown>;
	const prompt = count(u.prompt_tokens) ?? count(u.input_tokens);
	const completion = count(u.completion_tokens) ?? count(u.output_tokens) ?? 0;
	if (prompt === undefined) return undefined;
	return { promptTokens: prompt, completionTokens: completion };
}

/** The usage in a complete JSON answer's text, when it parses and has one. */
export function usageOfText(text: string): Usage | undefined {
	if (!text.includes('"usage"')) return undefined;
	try {
		return usageOf(JSON.parse(text));
	} catch {
		return undefined;
	}
}

/** The cost of a request: the backend's own statement, or usage × price; undefined when neither is known. */
export function costOf(
	price: Price | undefined,
	usage: Usage | undefined,
	stated: string | null,
): number | undefined {
	if (price?.costHeader && stated !== null) {
		const value = Number(stated);
		if (Number.isFinite(value) && value >= 0) return value;
	}
	if (!usage || (price?.inputPer1M === undefined && price?.outputPer1M === undefined))
		return undefined;
	return (
		(usage.promptTokens * (price.inputPer1M ?? 0) +
			usage.completionTokens * (price.outputPer1M ?? 0)) /
		1_000_000
	);
}

/** Completion tokens per second of generation (after the first token, or after the headers). */
export function tokensPerSecond(
	usage: Usage | undefined,
	generationMs: number,
): number | undefined {
	if (!usage || usage.completionTokens <= 0 || generationMs <= 0) return undefined;
	return (usage.completionTokens * 1000) / generationMs;
}
