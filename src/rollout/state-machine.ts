/**
 * The rollout state machine's vocabulary: the one place a next state is
 * minted (every controller decision, operator action, restart and deletion
 * goes through {@link advance} or {@link restart}, so revisions always rise
 * by one and the same fields reset), and the predicates that say what a
 * status means. Pure.
 *
 * Statuses: pending (created, not started) → shadowing | running →
 * paused ↔ (shadowing | running) → promoted | aborted | concluded.
 */
import type { DeploymentSpec } from "../config/spec";
import { type Actor, PENDING, type RolloutState, type RolloutStatus } from "../config/state";

/** Who made a change, why, and when. */
export interface Change {
	reason: string;
	actor: Actor;
	now: number;
	/**
	 * Keep `since`: the change does not start a new period (an approval lets
	 * the current step through; its bake time and request counts go on).
	 */
	keepSince?: boolean;
}

/**
 * The state after a transition: `patch` over the current state, a new
 * `since`, the reason and actor, the next revision. A standing approval and
 * the paused-from status belong to the state they were given in: both are
 * cleared unless the patch carries them on.
 */
export function advance(
	state: RolloutState,
	patch: Partial<RolloutState>,
	change: Change,
): RolloutState {
	return {
		...state,
		approved: undefined,
		pausedFrom: undefined,
		...patch,
		since: change.keepSince && state.since ? state.since : new Date(change.now).toISOString(),
		reason: change.reason,
		updatedBy: change.actor,
		revision: state.revision + 1,
	};
}

/** A fresh pending state after `previous` (a deletion, a re-creation): nothing of the old rollout is kept. */
export function restart(previous: RolloutState, change: Change): RolloutState {
	return {
		...PENDING,
		since: new Date(change.now).toISOString(),
		reason: change.reason,
		updatedBy: change.actor,
		revision: previous.revision + 1,
	};
}

/** The status a rollout has in effect: a paused one's, the status it resumes to. */
function effective(state: RolloutState): RolloutStatus {
	return state.status === "paused" ? (state.pausedFrom ?? "running") : state.status;
}

/**
 * In progress: shadowing, running, or paused from either. Its metrics so far
 * are about the current backends (a new backend would mix two models'), and
 * an operator may approve its next step.
 */
export function inProgress(state: RolloutState): boolean {
	return state.status === "shadowing" || state.status === "running" || state.status === "paused";
}

/**
 * Units have been bucketed under the spec's salt and traffic follows that
 * bucketing (in progress, promoted or concluded): a new salt, hash version or
 * shard count would move them.
 */
export function bucketsUnits(state: RolloutState): boolean {
	return state.status !== "pending" && state.status !== "aborted";
}

/** A rollout may be started (again): nothing is in progress. */
export function canStart(state: RolloutState): boolean {
	return !inProgress(state);
}

/** Shadowing, or paused while shadowing: the candidate serves no one yet. */
export function inShadowPhase(state: RolloutState): boolean {
	return effective(state) === "shadowing";
}

/** Which analysis a (spec, state) pair gets: shadow until a shadow deployment moves on to its canary. */
export function analysisMode(
	spec: DeploymentSpec,
	state: RolloutState,
): "shadow" | "ab" | "canary" {
	if (spec.strategy === "ab") return "ab";
	if (spec.strategy === "shadow" && (state.status === "pending" || inShadowPhase(state)))
		return "shadow";
	return "canary";
}
