/**
 * Reconciling the deployment object's state with what KV holds. Pure.
 *
 * KV is the published copy, and revisions decide what a difference means:
 * - a copy whose revision is lower than the last one published is stale
 *   (a replica behind, a leftover) when it is a state the object published:
 *   ignored and republished, never adopted; an old state edited by hand (a
 *   lower revision, content never published) is a hand edit like any other;
 * - the revision last published (or the current one) with the same content
 *   is in sync;
 * - anything else — no revision, or a current or higher revision with other
 *   content — is a hand edit (`wrangler kv key put state:<name> …`): it is
 *   respected, normalised (revision, step, since) and recorded as manual,
 *   once: a later copy of the same text is not a new edit.
 */

import type { KvValue } from "../config/kv";
import type { ConfigIssue } from "../config/parse";
import type { DeploymentSpec } from "../config/spec";
import { type KvRolloutState, PENDING, type RolloutState } from "../config/state";
import { stepIndexFor } from "./steps";

export interface ReconcileInput {
	/** The last valid spec (hand edits need its steps); null when there has never been one. */
	spec: DeploymentSpec | null;
	/** The object's state; null before its first contact with this deployment. */
	stored: RolloutState | null;
	/** The state last confirmed in KV. */
	published: RolloutState | null;
	/** Raw text of the last KV value already handled (an adopted hand edit, a reported invalid value). */
	handledRaw: string | null;
	/** The canonical states published lately, from revision `since` on (null: none kept). */
	copies?: { since: number; texts: readonly string[] } | null;
	kv: KvValue<KvRolloutState>;
	now: number;
}

export interface ReconcileResult {
	state: RolloutState;
	/**
	 * What KV is now known to hold: `published` when it holds the object's
	 * state (or the last published one), `differs` when it must be
	 * republished, `unchanged` when nothing new was learnt.
	 */
	kv: "published" | "differs" | "unchanged";
	/** Raw text to remember as handled (set for a hand edit or an invalid value just handled). */
	handledRaw?: string | null;
	/** An audit entry to record, when something happened. */
	event?: {
		kind: "adopted" | "manual" | "repair";
		actor: RolloutState["updatedBy"];
		reason: string;
		from: RolloutState | null;
	};
	/** A stale copy was ignored (logged, not audited). */
	stale?: { revision: number; published: number };
}

/** Canonical JSON of a state (sorted keys, undefined dropped), for comparing. */
export function canonicalState(state: KvRolloutState): string {
	const entries = Object.entries(state)
		.filter(([, v]) => v !== undefined)
		.sort(([a], [b]) => a.localeCompare(b));
	return JSON.stringify(Object.fromEntries(entries));
}

export function sameState(a: KvRolloutState | null, b: KvRolloutState | null): boolean {
	if (a === null || b === null) return a === b;
	return canonicalState(a) === canonicalState(b);
}

export function reconcile(input: ReconcileInput): ReconcileResult {
	const { spec, stored, published, kv, now } = input;
	const at = new Date(now).toISOString();
	if (stored === null) return firstContact(kv, at);
	if (kv.kind === "missing") {
		if (published === null) return { state: stored, kv: "unchanged" };
		return {
			state: stored,
			kv: "differs",
			event: {
				kind: "repair",
				actor: "controller",
				reason: "the state key was missing from KV; republished",
				from: stored,
			},
		};
	}
	if (kv.raw === input.handledRaw) {
		// A copy of a value already handled: nothing new, but KV still needs the object's state.
		return { state: stored, kv: "differs" };
	}
	if (kv.kind === "invalid") {
		return {
			state: stored,
			kv: "differs",
			handledRaw: kv.raw,
			event: {
				kind: "repair",
				actor: "controller",
				reason: `ignored an invalid state in KV (${issuesText(kv.issues)}); republished`,
				from: stored,
			},
		};
	}
	const found = kv.value;
	const revision = found.revision;
	if (revision !== undefined) {
		const floor = published?.revision ?? stored.revision;
		if (revision < floor) {
			const copies = input.copies;
			const edited =
				copies != null && revision >= copies.since && !copies.texts.includes(canonicalState(found));
			if (!edited) return { state: stored, kv: "differs", stale: { revision, published: floor } };
			return manualChange(spec, stored, found, kv.raw, at);
		}
		if (revision === stored.revision && sameState(found, stored)) {
			return { state: stored, kv: "published", handledRaw: null };
		}
		if (published && revision === published.revision && sameState(found, published)) {
			return { state: stored, kv: "unchanged" };
		}
	}
	return manualChange(spec, stored, found, kv.raw, at);
}

/** The object has no state yet: adopt what KV holds (seeded demos, hand-written states). */
function firstContact(kv: KvValue<KvRolloutState>, at: string): ReconcileResult {
	if (kv.kind === "ok") {
		// startedAt is kept as found (absent = epoch 0): the edge tags observations from that same value.
		const adopted: RolloutState = {
			...kv.value,
			since: kv.value.since ?? at,
			revision: Math.max(1, kv.value.revision ?? 0),
		};
		return {
			state: adopted,
			kv: sameState(adopted, kv.value) ? "published" : "differs",
			event: {
				kind: "adopted",
				actor: kv.value.updatedBy,
				reason: `adopted the state found in KV: ${kv.value.status} at ${kv.value.weight} %`,
				from: null,
			},
		};
	}
	if (kv.kind === "invalid") {
		return {
			state: PENDING,
			kv: "differs",
			handledRaw: kv.raw,
			event: {
				kind: "repair",
				actor: "controller",
				reason: `the state in KV is invalid (${issuesText(kv.issues)}); starting from pending`,
				from: null,
			},
		};
	}
	return { state: PENDING, kv: "unchanged" };
}

function manualChange(
	spec: DeploymentSpec | null,
	current: RolloutState,
	edited: KvRolloutState,
	raw: string,
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
	const step =
		spec === null || spec.strategy === "ab" ? edited.step : stepIndexFor(spec.canary.steps, weight);
	const next: RolloutState = {
		...edited,
		weight,
		step,
		since: at,
		startedAt: restarted ? at : (edited.startedAt ?? current.startedAt ?? at),
		reason:
			edited.reason ||
			`changed by hand in KV: ${current.status} ${current.weight} % → ${edited.status} ${weight} %`,
		updatedBy: "manual",
		revision: Math.max(current.revision, edited.revision ?? 0) + 1,
		pausedFrom,
	};
	return {
		state: next,
		kv: "differs",
		handledRaw: raw,
		event: { kind: "manual", actor: "manual", reason: next.reason, from: current },
	};
}

function issuesText(issues: ConfigIssue[]): string {
	return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}
