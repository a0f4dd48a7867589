/**
 * Numbers for people, by unit: how the CLI, the dashboard and the reasons
 * show a signal's values and differences. Pure.
 */
import type { SignalUnit } from "./types";

const finite = (x: number | null | undefined): x is number =>
	typeof x === "number" && Number.isFinite(x);

/** A value in its unit: "1.23 %", "84.0 ms", "0.00123", "412 tokens", "38.2 tokens/s", "0.7500". */
export function formatValue(unit: SignalUnit, x: number | null | undefined): string {
	if (!finite(x)) return "—";
	switch (unit) {
		case "ratio":
			return `${(x * 100).toFixed(2)} %`;
		case "ms":
			return `${x.toFixed(1)} ms`;
		case "currency":
			return x === 0 ? "0" : Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toPrecision(3);
		case "tokens":
			return `${x.toFixed(x >= 100 ? 0 : 1)} tokens`;
		case "tokens_per_second":
			return `${x.toFixed(1)} tokens/s`;
		case "score":
			return x.toFixed(4);
	}
}

/** A difference in its unit, signed: "+0.42 pp", "−3.1 ms", "+0.00012". */
export function formatDifference(unit: SignalUnit, x: number | null | undefined): string {
	if (!finite(x)) return "—";
	const sign = x >= 0 ? "+" : "−";
	if (unit === "ratio") return `${sign}${Math.abs(x * 100).toFixed(2)} pp`;
	return `${sign}${formatValue(unit, Math.abs(x))}`;
}
