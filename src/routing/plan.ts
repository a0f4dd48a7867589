/**
 * Step 1 of the request path: the plan. A pure function of the spec, the
 * rollout state and what the edge knows about the request (its unit, a QA
 * override, the isolate's breaker, its method, a random draw) says who the
 * unit is assigned, who is called first, whether a failing candidate falls
 * back to the champion, whether the candidate gets a shadow copy, what the
 * observations record, and what the request id claims. Calling backends
 * (call.ts) and answering (respond.ts) follow it; nothing here touches the
 * platform.
 */
import { type DeploymentSpec, saltOf } from "../config/spec";
import { epochOf, type KvRolloutState, routingOf } from "../config/state";
import { assignVariant, type Variant } from "./assign";
import { type RequestIdClaims, unitTag } from "./request-id";
import type { Unit } from "./unit";

export interface PlanInput {
	spec: DeploymentSpec;
	state: KvRolloutState;
	/** The unit of assignment (cookie or header). */
	unit: Unit;
	/** A valid QA override's variant, or null. */
	override: Variant | null;
	/** This isolate's breaker on the candidate is open. */
	breakerOpen: boolean;
	method: string;
	/** Uniform in [0, 1): a shadow copy is made when it falls below the sample rate. */
	draw: number;
	/** When the request arrived, Unix ms. */
	time: number;
}

/** What an observation of the request records besides its result. */
export interface Segment {
	/** The routing threshold in force (basis points on the candidate); -1 when pinned by QA. */
	threshold: number;
	/** The rollout the request belongs to (its startedAt, Unix ms). */
	epoch: number;
}

export interface Plan {
	/** A preflight or a HEAD passes through but is no prediction: it counts for nothing. */
	predicting: boolean;
	/** The unit; a fresh one gets its cookie with the answer. */
	unit: Unit;
	/** The variant the unit is assigned (or pinned to): every observation is its. */
	assigned: Variant;
	/** The variant called first: the assigned one, or the champion when the breaker diverts. */
	first: Variant;
	/** An open breaker sends the candidate's unit to the champion, before any call. */
	diverted: boolean;
	/** A candidate failing (5xx, timeout, network) is answered by the champion instead. */
	mayFallBack: boolean;
	/** The call's outcome feeds the breaker: the candidate's own predictions, not pinned. */
	feedsBreaker: boolean;
	/** The candidate gets a copy in the background; the champion answers. */
	shadow: boolean;
	segment: Segment;
	/** The request id's claims; the call sets `fallback`, the answer `failed`. */
	claims: RequestIdClaims;
}

export function planRequest(input: PlanInput): Plan {
	const { spec, override } = input;
	const routing = routingOf(spec, input.state);
	const pinned = override !== null;
	const predicting = input.method !== "OPTIONS" && input.method !== "HEAD";
	const assigned: Variant =
		override ??
		(routing.mode === "split"
			? assignVariant(saltOf(spec), input.unit.id, routing.threshold, spec.assignment.hashVersion)
			: "champion");
	const diverted = assigned === "candidate" && !pinned && input.breakerOpen;
	const candidateOwn = assigned === "candidate" && !pinned && !diverted;
	return {
		predicting,
		unit: input.unit,
		assigned,
		first: diverted ? "champion" : assigned,
		diverted,
		mayFallBack: candidateOwn && spec.fallback,
		feedsBreaker: candidateOwn && predicting,
		shadow: routing.mode === "shadow" && !pinned && predicting && input.draw < routing.sampleRate,
		segment: {
			// Requests pinned by a QA override are recorded at threshold -1, outside every analysis window.
			threshold: pinned ? -1 : routing.mode === "split" ? routing.threshold : 0,
			epoch: epochOf(input.state),
		},
		claims: {
			deployment: spec.name,
			assigned,
			fallback: false,
			diverted,
			pinned,
			failed: false,
			time: input.time,
			unit: unitTag(input.unit.id),
		},
	};
}

/** The variant that answered, once the call is done. */
export function servedBy(plan: Plan): Variant {
	return plan.diverted || plan.claims.fallback ? "champion" : plan.assigned;
}
