/** Numbers for people, in reasons, details and reports. Pure. */

/** "1.23 %" */
export function percent(x: number, digits = 2): string {
	return `${(x * 100).toFixed(digits)} %`;
}

/** "0.0123" or "1.2e-7" */
export function formatP(p: number): string {
	return p >= 1e-4 ? p.toFixed(4) : p.toExponential(1);
}

/** "+4.2 %" or "−1.0 %" for a relative change. */
export function formatSigned(relative: number): string {
	return `${relative >= 0 ? "+" : "−"}${Math.abs(relative * 100).toFixed(1)} %`;
}
