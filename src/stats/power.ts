/**
 * Sample sizes for "waiting for N more" messages: how many units each arm
 * needs for a fixed-horizon two-sided test at `alpha` to detect `effect`
 * with probability `power`.
 */
import { normalQuantile } from "./special";

export interface SampleSizeInput {
	/** Per-unit variance in each arm (p(1 − p) for a rate). */
	varianceA: number;
	varianceB: number;
	/** The absolute difference to detect. */
	effect: number;
	alpha?: number;
	power?: number;
	/** nb / na: 1 for an even split, 0.05/0.95 for a 5 % canary. */
	ratio?: number;
}

/** Units needed in each arm, rounded up; Infinity when effect is 0. */
export function requiredSampleSize(input: SampleSizeInput): { a: number; b: number } {
	const alpha = input.alpha ?? 0.05;
	const power = input.power ?? 0.8;
	const ratio = input.ratio ?? 1;
	const effect = Math.abs(input.effect);
	if (!(effect > 0) || !(ratio > 0))
		return { a: Number.POSITIVE_INFINITY, b: Number.POSITIVE_INFINITY };
	const z = normalQuantile(1 - alpha / 2) + normalQuantile(power);
	const a = (z * z * (input.varianceA + input.varianceB / ratio)) / (effect * effect);
	return { a: Math.ceil(a), b: Math.ceil(a * ratio) };
}

/** How many more units arm b needs (0 when it has enough). */
export function moreSamplesNeeded(input: SampleSizeInput & { currentB: number }): number {
	const { b } = requiredSampleSize(input);
	return Number.isFinite(b) ? Math.max(0, b - input.currentB) : Number.POSITIVE_INFINITY;
}
