/**
 * Operator actions on a rollout (admin API, CLI): which are allowed from
 * which status, and the state they lead to. Pure. An action that does not
 * apply answers with an error naming the current status (the API's 409).
 */
import type { DeploymentSpec } from "../config/spec";
import type { Actor, RolloutState } from "../config/state";
import { stepIndexFor } from "./steps";

export type AdminAction =
	| { type: "start" }
	| { type: "pause" }
	| { type: "resume" }
	| { type: "promote" }
	| { type: "abort" }
	| { type: "weight"; weight: number }
	| { type: "finalize" };

export type ActionResult = { ok: true; next: RolloutState } | { ok: false; error: string };

const TERMINAL = new Set(["pending", "aborted", "promoted", "concluded"]);

export function applyAction(
	spec: DeploymentSpec,
	state: RolloutState,
	action: AdminAction,
	now: number,
	actor: Actor,
	reason?: string,
): ActionResult {
	const at = new Date(now).toISOString();
	const to = (patch: Partial<RolloutState>, defaultReason: string): ActionResult => ({
		ok: true,
		next: {
			...state,
			pausedFrom: undefined,
			...patch,
			since: at,
			reason: reason ?? defaultReason,
			updatedBy: actor,
			revision: state.revision + 1,
		},
	});
	const refuse = (what: string): ActionResult => ({
		ok: false,
		error: `cannot ${what} a rollout that is ${state.status}`,
	});

	switch (action.type) {
		case "start": {
			if (!TERMINAL.has(state.status)) return refuse("start");
			const fresh = { startedAt: at, step: 0, winner: undefined };
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
			return to({ status: "paused", pausedFrom: state.status }, "paused by an operator");
		case "resume":
			if (state.status !== "paused") return refuse("resume");
			return to({ status: state.pausedFrom ?? "running" }, "resumed by an operator");
		case "promote": {
			if (
				state.status === "shadowing" ||
				(state.status === "paused" && state.pausedFrom === "shadowing")
			) {
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
			if (state.status === "paused" && state.pausedFrom === "shadowing")
				return refuse("set the weight of a shadow that is");
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
			return to(
				{ status: "concluded", weight: 0, winner: undefined },
				"finalized: the candidate is now the champion",
			);
		}
	}
}
