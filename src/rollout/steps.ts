/** Canary step arithmetic (pure). */
import type { CanaryPolicy } from "../config/spec";
import type { RolloutState } from "../config/state";

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

/**
 * The weight the rollout goes to next: the first canary step for a shadow
 * (it moves to its canary), 100 when passing the current step promotes,
 * else the next step. Null when nothing is ahead (promoted, ended, or A/B).
 */
export function nextTarget(policy: CanaryPolicy, state: RolloutState): number | null {
	const from = state.status === "paused" ? state.pausedFrom : state.status;
	if (from === "shadowing") return policy.steps[0] ?? null;
	if (from !== "running") return null;
	if (promotesAfter(policy, state.weight)) return 100;
	return nextStepAbove(policy.steps, state.weight)?.weight ?? null;
}

/** Whether going to `target` needs an operator's approval that the state does not carry yet. */
export function needsApproval(policy: CanaryPolicy, state: RolloutState, target: number): boolean {
	return policy.approvalBefore.includes(target) && state.approved !== target;
}
