/**
 * The rollout state: what `state:<name>` in KV holds. The deployment's
 * Durable Object is its only writer; operators may still write it by hand
 * (for example `{"status":"paused","weight":10}`), so every field but
 * `status` has a default. Every state the object publishes carries a strictly
 * increasing `revision`: that number, not the content, tells a stale copy
 * from a hand edit. The edge turns (spec, state) into a routing decision
 * with {@link routingOf}.
 */
import { z } from "zod";
import type { DeploymentSpec } from "./spec";
import { Weight } from "./spec";

export const RolloutStatus = z.enum([
	"pending",
	"shadowing",
	"running",
	"paused",
	"promoted",
	"aborted",
	"concluded",
]);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

export const Actor = z.enum(["controller", "admin", "manual", "seed"]);
export type Actor = z.infer<typeof Actor>;

/** A rollout state as KV may hold it: a hand edit may carry nothing but `status`. */
export const KvRolloutState = z.object({
	status: RolloutStatus,
	/** Candidate weight in percent (the traffic it serves when status is running or paused). */
	weight: Weight.default(0),
	/** Index into canary.steps of the current step. */
	step: z.number().int().min(0).default(0),
	/** When the current status/weight began (ISO 8601); bake time counts from here. */
	since: z.iso.datetime().optional(),
	/** When the current rollout began; statistics accumulate from here. */
	startedAt: z.iso.datetime().optional(),
	/** Why the state is what it is, for people. */
	reason: z.string().default(""),
	updatedBy: Actor.default("manual"),
	/**
	 * Set by the deployment object on every state it publishes, strictly
	 * increasing. A hand edit leaves it out (or keeps the current one); a copy
	 * with a lower revision than the last published one is stale and ignored.
	 */
	revision: z.number().int().min(0).optional(),
	/** The status a paused rollout resumes to. */
	pausedFrom: z.enum(["shadowing", "running"]).optional(),
	/**
	 * An operator's approval to go to this weight (canary.approvalBefore; 100
	 * is the promotion). The controller takes the step once its guardrails
	 * pass (and the step window is open); any step clears it.
	 */
	approved: Weight.optional(),
	/** The winner of a concluded A/B test. */
	winner: z.enum(["champion", "candidate"]).optional(),
	/**
	 * Set by finalize: the version that now serves everyone (the former
	 * candidate). An edge that reads this state before the new spec (champion
	 * := candidate) keeps serving that version instead of the old champion.
	 */
	finalized: z.string().min(1).max(64).optional(),
});
export type KvRolloutState = z.infer<typeof KvRolloutState>;
export type KvRolloutStateInput = z.input<typeof KvRolloutState>;

/** A state the deployment object owns: it always has a revision. */
export type RolloutState = KvRolloutState & { revision: number };

/** The state of a deployment nobody has started. */
export const PENDING: RolloutState = {
	status: "pending",
	weight: 0,
	step: 0,
	reason: "not started",
	updatedBy: "controller",
	revision: 0,
};

/** Parsed once per state object: the edge asks for every prediction. */
const epochs = new WeakMap<KvRolloutState, number>();

/**
 * The rollout an observation belongs to: its startedAt in Unix ms, 0 when the
 * state has none. Metrics are stored per epoch, so a new rollout never mixes
 * with the data of the previous one, even within the same minute.
 */
export function epochOf(state: KvRolloutState): number {
	let epoch = epochs.get(state);
	if (epoch === undefined) {
		epoch = state.startedAt ? Date.parse(state.startedAt) : 0;
		epochs.set(state, epoch);
	}
	return epoch;
}

/** What the edge does for a deployment right now. */
export type Routing =
	| { mode: "split" /** basis points 0..10000 of units on the candidate */; threshold: number }
	| { mode: "shadow"; sampleRate: number };

/**
 * The routing a state implies. Only `shadowing` copies traffic to the
 * candidate; `aborted` and `pending` serve the champion alone whatever the
 * weight says; `promoted` serves the candidate to everyone. A finalized state
 * serves its `finalized` version even under the spec it replaces.
 */
export function routingOf(spec: DeploymentSpec, state: KvRolloutState): Routing {
	switch (state.status) {
		case "shadowing":
			return { mode: "shadow", sampleRate: spec.shadow.sampleRate };
		case "pending":
		case "aborted":
			return { mode: "split", threshold: 0 };
		case "promoted":
			return { mode: "split", threshold: 10_000 };
		case "concluded":
			if (
				state.finalized !== undefined &&
				spec.champion.version !== state.finalized &&
				spec.candidate.version === state.finalized
			)
				return { mode: "split", threshold: 10_000 };
			return { mode: "split", threshold: Math.round(state.weight * 100) };
		default:
			return { mode: "split", threshold: Math.round(state.weight * 100) };
	}
}
