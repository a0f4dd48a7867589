/** What every guardrail's result shares: its display and the "not enough data yet" answer. Pure. */
import type { GuardrailResult } from "./types";

/** A guardrail's fields before its test ran. */
export type GuardrailBase = Omit<
	GuardrailResult,
	"status" | "pValue" | "ci" | "detail" | "dispersion" | "strata"
>;

/** Not enough data to test yet: the p-value stays where the previous looks left it. */
export function insufficient(
	base: GuardrailBase,
	previousPValue: number,
	detail: string,
	strata = 0,
): GuardrailResult {
	return {
		...base,
		status: "insufficient",
		pValue: previousPValue,
		ci: [null, null],
		dispersion: 1,
		strata,
		detail,
	};
}
