/**
 * Reconciling the Durable Object's state with what KV holds. KV is the
 * published copy; when it differs from what was last published, a person
 * changed it by hand (`wrangler kv key put state:<name> …`): the change is
 * respected, normalised (revision, step, since) and recorded as manual.
 */

import type { ConfigIssue } from "../config/parse";
import type { DeploymentSpec } from "../config/spec";
import { PENDING, type RolloutState } from "../config/state";
import { stepIndexFor } from "./steps";

export type KvState =
	| { kind: "missing" }
	| { kind: "invalid"; issues: ConfigIssue[] }
	| { kind: "ok"; state: RolloutState };

export interface ReconcileResult {
	state: RolloutState;
	/** An audit entry to record, when something happened. */
	event?: {
		kind: "adopted" | "manual" | "repair";
		actor: RolloutState["updatedBy"];
		reason: string;
		from: RolloutState | null;
	};
}

/** Canonical JSON of a state (sorted keys, undefined dropped), for comparing. */
export function canonicalState(state: RolloutState): string {
	const entries = Object.entries(state)
		.filter(([, v]) => v !== undefined)
		.sort(([a], [b]) => a.localeCompare(b));
	return JSON.stringify(Object.fromEntries(entries));
}

export function sameState(a: RolloutState | null, b: RolloutState | null): boolean {
	if (a === null || b === null) return a === b;
	return canonicalState(a) === canonicalState(b);
}

export function reconcile(
	spec: DeploymentSpec,
	stored: RolloutState | null,
	published: RolloutState | null,
	kv: KvState,
	now: number,
): ReconcileResult {
	const at = new Date(now).toISOString();
	if (stored === null) {
		if (kv.kind === "ok") {
			// startedAt is kept as found (absent = epoch 0): the edge tags observations from that same value.
			const adopted: RolloutState = {
				...kv.state,
				since: kv.state.since ?? at,
				revision: Math.max(1, kv.state.revision),
			};
			return {
				state: adopted,
				event: {
					kind: "adopted",
					actor: kv.state.updatedBy,
					reason: `adopted the state found in KV: ${kv.state.status} at ${kv.state.weight} %`,
					from: null,
				},
			};
		}
		if (kv.kind === "invalid") {
			return {
				state: PENDING,
				event: {
					kind: "repair",
					actor: "controller",
					reason: `the state in KV is invalid (${issuesText(kv.issues)}); starting from pending`,
					from: null,
				},
			};
		}
		return { state: PENDING };
	}
	if (kv.kind === "missing") {
		if (published === null) return { state: stored };
		return {
			state: stored,
			event: {
				kind: "repair",
				actor: "controller",
				reason: "the state key was missing from KV; republished",
				from: stored,
			},
		};
	}
	if (kv.kind === "invalid") {
		return {
			state: stored,
			event: {
				kind: "repair",
				actor: "controller",
				reason: `ignored an invalid state in KV (${issuesText(kv.issues)}); republished`,
				from: stored,
			},
		};
	}
	if (published !== null && sameState(kv.state, published)) return { state: stored };
	if (published === null && sameState(kv.state, stored)) return { state: stored };
	return manualChange(spec, stored, kv.state, at);
}

function manualChange(
	spec: DeploymentSpec,
	current: RolloutState,
	edited: RolloutState,
	at: string,
): ReconcileResult {
	const restarted =
		(current.status === "pending" ||
			current.status === "aborted" ||
			current.status === "promoted" ||
			current.status === "concluded") &&
		(edited.status === "running" || edited.status === "shadowing");
	const pausedFrom =
		edited.status === "paused"
			? (edited.pausedFrom ??
				(current.status === "paused"
					? current.pausedFrom
					: current.status === "shadowing"
						? "shadowing"
						: "running"))
			: undefined;
	const weight = edited.status === "aborted" ? 0 : edited.weight;
	const next: RolloutState = {
		...edited,
		weight,
		step: spec.strategy === "ab" ? edited.step : stepIndexFor(spec.canary.steps, weight),
		since: at,
		startedAt: restarted ? at : (edited.startedAt ?? current.startedAt ?? at),
		reason:
			edited.reason ||
			`changed by hand in KV: ${current.status} ${current.weight} % → ${edited.status} ${weight} %`,
		updatedBy: "manual",
		revision: current.revision + 1,
		pausedFrom,
	};
	return {
		state: next,
		event: { kind: "manual", actor: "manual", reason: next.reason, from: current },
	};
}

function issuesText(issues: ConfigIssue[]): string {
	return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}
