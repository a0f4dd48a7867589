/**
 * The dashboard's numbers by unit (src/admin/ui/format.ts): a report row's
 * `unit` alone decides how its values, differences and margins are shown.
 */
import { describe, expect, it } from "vitest";
import { formatOf, pval } from "../../src/admin/ui/format";
import type { SignalUnit } from "../../src/signals/types";

const CASES: [unit: SignalUnit, value: number, shown: string, diff: number, diffShown: string][] = [
	["ratio", 0.0123, "1.23 %", -0.004, "−0.40 pp"],
	["ms", 12.345, "12.3 ms", 1.25, "+1.3 ms"],
	["currency", 0.000423, "¤0.000423", 0.0000215, "+¤0.0000215"],
	["currency", 1.5, "¤1.50", -0.25, "−¤0.250"],
	["currency", 0.0000022, "¤0.00000220", 0, "+¤0.00"],
	["tokens", 41.25, "41.3 tokens", -3, "−3.0 tokens"],
	["tokens_per_second", 51.35, "51.4 tokens/s", 0.5, "+0.5 tokens/s"],
	["score", 0.3, "0.3000", 0.15, "+0.1500"],
];

describe("the dashboard's formats by unit", () => {
	it.each(CASES)(
		"shows %s %d as %s and a difference of %d as %s",
		(unit, value, shown, diff, diffShown) => {
			const format = formatOf(unit);
			expect(format.value(value)).toBe(shown);
			expect(format.diff(diff)).toBe(diffShown);
		},
	);

	it("shows a missing or non-finite value as a dash in every unit", () => {
		for (const unit of new Set(CASES.map(([u]) => u))) {
			for (const missing of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
				expect(formatOf(unit).value(missing)).toBe("—");
				expect(formatOf(unit).diff(missing)).toBe("—");
			}
		}
	});

	it("shows p-values with four decimals, or in scientific notation below 1e-4", () => {
		expect(pval(0.04567)).toBe("0.0457");
		expect(pval(0.00001234)).toBe("1.2e-5");
	});
});
