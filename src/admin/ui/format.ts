/**
 * The dashboard's numbers for people: by unit from the signals' one formatter
 * (src/signals/display.ts), plus p-values, times and plain milliseconds.
 * Missing or non-finite values show as "—". Pure (no DOM): the unit tests
 * call it directly.
 */
import { isNum } from "../../signals/display";

export { formatOf, isNum, pct, type UnitFormat } from "../../signals/display";

const NONE = "—";

/** A p-value: four decimals, or one significant digit in scientific notation below 1e-4. */
export const pval = (p: unknown): string =>
	isNum(p) ? (p >= 1e-4 ? p.toFixed(4) : p.toExponential(1)) : NONE;

/** A time as HH:MM (UTC). */
export const clock = (t: number): string => new Date(t).toISOString().slice(11, 16);

/** Milliseconds with one decimal: "12.3 ms". */
export const ms = (x: unknown): string => (isNum(x) ? `${x.toFixed(1)} ms` : NONE);
