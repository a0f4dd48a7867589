/**
 * Operator actions on a rollout (admin API, CLI): which are allowed from
 * which status, and the state they lead to. Pure. An action that does not
 * apply answers with an error naming the current status (the API's 409).
 * Abort, pause, resume and promote work on the state alone, so they never
 * depend on the spec being valid; the others need the last valid spec.
 * Every action but pause, resume and approve withdraws a standing approval
 * (it belonged to the step the rollout was on).
 */
import type { DeploymentSpec } from "../config/spec";
import type { Actor, RolloutState } from "../config/state";
import { advance, canStart, inProgress, inShadowPhase } from "./state-machine";
import { nextTarget, stepIndexFor } from "./steps";

export type AdminAction =
	| { type: "start" }
	| { type: "pause" }
	| { type: "resume" }
	| { type: "promote" }
	| { type: "abort" }
	| { type: "weight"; weight: number }
	| { type: "finalize" }
	| { type: "approve" };

export type ActionResult =
	| { ok: true; next: RolloutState }
	| { ok: false; error: string; needsSpec?: true };

export function applyAction(
	spec: DeploymentSpec | null,
	state: RolloutState,
	action: AdminAction,
	now: number,
	actor: Actor,
	reason?: string,
): ActionResult {
	const at = new Date(now).toISOString();
	const to = (
		patch: Partial<RolloutState>,
		defaultReason: string,
		keepSince = false,
	): ActionResult => ({
		ok: true,
		next: advance(state, patch, { reason: reason ?? defaultReason, actor, now, keepSince }),
	});
	const refuse = (what: string): ActionResult => ({
		ok: false,
		error: `cannot ${what} a rollout that is ${state.status}`,
	});
	const specRequired = (what: string): ActionResult => ({
		ok: false,
		needsSpec: true,
		error: `cannot ${what} without a valid spec: PUT one first (abort, pause and resume work without)`,
	});

	switch (action.type) {
		case "start": {
			if (!canStart(state)) return refuse("start");
			if (spec === null) return specRequired("start");
			const fresh = { startedAt: at, step: 0, winner: undefined, finalized: undefined };
			if (spec.strategy === "shadow")
				return to({ ...fresh, status: "shadowing", weight: 0 }, "started: shadowing");
			if (spec.strategy === "ab")
				return to(
					{ ...fresh, status: "running", weight: spec.ab.weight },
					`started: A/B test at ${spec.ab.weight} %`,
				);
			const first = spec.canary.steps[0] as number;
			return to({ ...fresh, status: "running", weight: first }, `started: canary at ${first} %`);
		}
		case "pause":
			if (state.status !== "running" && state.status !== "shadowing") return refuse("pause");
			return to(
				{ status: "paused", pausedFrom: state.status, approved: state.approved },
				"paused by an operator",
			);
		case "resume":
			if (state.status !== "paused") return refuse("resume");
			return to(
				{ status: state.pausedFrom ?? "running", approved: state.approved },
				"resumed by an operator",
			);
		case "approve": {
			if (!inProgress(state)) return refuse("approve the next step of");
			if (spec === null) return specRequired("approve");
			if (spec.strategy === "ab") return refuse("approve a step of an A/B test that is");
			const target = nextTarget(spec.canary, state);
			if (target === null) return refuse("approve the next step of");
			if (!spec.canary.approvalBefore.includes(target))
				return {
					ok: false,
					error: `the next step (${target} %) needs no approval (canary.approvalBefore: [${spec.canary.approvalBefore.join(", ")}])`,
				};
			// The step goes on: its bake time and request counts still count toward it.
			return to(
				{ approved: target, pausedFrom: state.pausedFrom },
				`approved by an operator: going to ${target} % once the guardrails pass`,
				true,
			);
		}
		case "promote": {
			if (inShadowPhase(state)) {
				if (spec === null) return specRequired("promote a shadow to a canary");
				const first = spec.canary.steps[0] as number;
				return to(
					{ status: "running", weight: first, step: 0, startedAt: at },
					`promoted from shadow to a canary at ${first} %`,
				);
			}
			if (state.status !== "running" && state.status !== "paused") return refuse("promote");
			return to(
				{ status: "promoted", weight: 100 },
				"promoted by an operator: the candidate serves everyone",
			);
		}
		case "abort":
			if (state.status === "pending" || state.status === "aborted" || state.status === "concluded")
				return refuse("abort");
			return to(
				{ status: "aborted", weight: 0 },
				"aborted by an operator: all traffic back to the champion",
			);
		case "weight": {
			if (state.status !== "running" && state.status !== "paused")
				return refuse("set the weight of");
			if (inShadowPhase(state)) return refuse("set the weight of a shadow that is");
			if (spec === null) return specRequired("set the weight");
			const step =
				spec.strategy === "canary" || spec.strategy === "shadow"
					? stepIndexFor(spec.canary.steps, action.weight)
					: state.step;
			return to(
				{ weight: action.weight, step, pausedFrom: state.pausedFrom },
				`weight set to ${action.weight} % by an operator`,
			);
		}
		case "finalize": {
			const candidateWon =
				state.status === "promoted" ||
				(state.status === "concluded" && state.winner === "candidate");
			if (!candidateWon)
				return {
					ok: false,
					error: `finalize needs a promoted candidate (or an A/B won by it); the rollout is ${state.status}`,
				};
			if (spec === null) return specRequired("finalize");
			return to(
				{ status: "concluded", weight: 0, winner: undefined, finalized: spec.candidate.version },
				`finalized: ${spec.candidate.version} is now the champion`,
			);
		}
	}
}

/**
 * The spec after finalize: the candidate becomes the champion (and stays the
 * candidate, so every combination of old and new spec and state an edge may
 * read meanwhile serves it).
 */
export function finalizedSpec(spec: DeploymentSpec): DeploymentSpec {
	return { ...spec, champion: spec.candidate };
}
