/**
 * Numbers for people, by the unit a report row declares (types.ts): the CLI,
 * the dashboard and reasons show a signal's values and differences with it;
 * nothing here knows a metric's name, so a new signal is shown right as soon
 * as its report rows say their unit. Missing or non-finite values show as
 * "—". Pure, and free of imports but types: the dashboard's bundle uses it.
 */
import type { SignalUnit } from "./types";

const NONE = "—";
/** Unicode's generic currency sign: prices in a spec are in any currency, the same for both arms. */
const CURRENCY = "¤";

export const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

const sign = (x: number) => (x >= 0 ? "+" : "−");

/** A ratio as a percentage: 0.0123 → "1.23 %". */
export const pct = (x: unknown, digits = 2): string =>
	isNum(x) ? `${(x * 100).toFixed(digits)} %` : NONE;

/** An amount with three significant digits and at least two decimals: 0.000423 → "0.000423", 1.5 → "1.50". */
function amount(x: number): string {
	const magnitude = Math.abs(x);
	const decimals = magnitude > 0 ? Math.max(2, 2 - Math.floor(Math.log10(magnitude))) : 2;
	return magnitude.toFixed(Math.min(decimals, 12));
}

/** How one unit is shown: a value, and a signed difference (or margin) between two values. */
export interface UnitFormat {
	value(x: unknown): string;
	diff(x: unknown): string;
}

function format(value: (x: number) => string, diff: (x: number) => string): UnitFormat {
	return {
		value: (x) => (isNum(x) ? value(x) : NONE),
		diff: (x) => (isNum(x) ? diff(x) : NONE),
	};
}

const FORMATS: Record<SignalUnit, UnitFormat> = {
	ratio: format(
		(x) => pct(x),
		(x) => `${sign(x)}${Math.abs(x * 100).toFixed(2)} pp`,
	),
	ms: format(
		(x) => `${x.toFixed(1)} ms`,
		(x) => `${sign(x)}${Math.abs(x).toFixed(1)} ms`,
	),
	currency: format(
		(x) => `${x < 0 ? "−" : ""}${CURRENCY}${amount(x)}`,
		(x) => `${sign(x)}${CURRENCY}${amount(x)}`,
	),
	tokens: format(
		(x) => `${x.toFixed(1)} tokens`,
		(x) => `${sign(x)}${Math.abs(x).toFixed(1)} tokens`,
	),
	tokens_per_second: format(
		(x) => `${x.toFixed(1)} tokens/s`,
		(x) => `${sign(x)}${Math.abs(x).toFixed(1)} tokens/s`,
	),
	score: format(
		(x) => x.toFixed(4),
		(x) => `${sign(x)}${Math.abs(x).toFixed(4)}`,
	),
};

/** The format of a unit (a report row's `unit`). */
export function formatOf(unit: SignalUnit): UnitFormat {
	return FORMATS[unit];
}

/** A value in its unit: "1.23 %", "84.0 ms", "¤0.00123", "412.0 tokens". */
export function formatValue(unit: SignalUnit, x: unknown): string {
	return FORMATS[unit].value(x);
}

/** A difference (or a margin) in its unit, signed: "+0.42 pp", "−3.1 ms". */
export function formatDifference(unit: SignalUnit, x: unknown): string {
	return FORMATS[unit].diff(x);
}
