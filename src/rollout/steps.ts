/** Canary step arithmetic (pure). */
import type { CanaryPolicy } from "../config/spec";

/** Index of the largest step at or below `weight` (0 when below the first step). */
export function stepIndexFor(steps: readonly number[], weight: number): number {
	let index = 0;
	steps.forEach((step, i) => {
		if (step <= weight) index = i;
	});
	return index;
}

/** The first step above `weight`, or null when none is left. */
export function nextStepAbove(
	steps: readonly number[],
	weight: number,
): { index: number; weight: number } | null {
	const index = steps.findIndex((step) => step > weight);
	return index < 0 ? null : { index, weight: steps[index] as number };
}

/** Passing the current step promotes when the next step would be 100 % (or there is none). */
export function promotesAfter(policy: CanaryPolicy, weight: number): boolean {
	const next = nextStepAbove(policy.steps, weight);
	return next === null || next.weight >= 100;
}
