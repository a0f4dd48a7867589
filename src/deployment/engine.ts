/**
 * The synchronous core of the deployment object: given what KV held a moment
 * ago (or null when KV could not be read), load the rollout record, take in
 * the spec, reconcile the state, analyse, decide, record, and say what must
 * be published. Everything here is SQL plus pure functions; the authority
 * runs each call in one transaction, so a look or an action is all or
 * nothing and never observes another half done.
 */
import type { KvDeployment } from "../config/kv";
import type { ConfigIssue } from "../config/parse";
import type { DeploymentSpec } from "../config/spec";
import { type Actor, PENDING, type RolloutState } from "../config/state";
import { type Json, toJson } from "../lib/json";
import { logWarn } from "../lib/log";
import { type AnalysisReport, analyze, EMPTY_MEMORY } from "../rollout/analysis";
import { type Decision, decide } from "../rollout/controller";
import { type ReconcileInput, reconcile, sameState } from "../rollout/reconcile";
import { rebuckets, type SpecChangeRefusal, specChangeRefusal } from "../rollout/spec-change";
import { restart } from "../rollout/state-machine";
import { type AdminAction, applyAction } from "../rollout/transitions";
import { rowsFor } from "./analysis-rows";
import { enqueueEvent } from "./outbox";
import { appendAudit, loadRollout, notePublished, type RolloutRecord, saveRollout } from "./record";

/** What KV held when the operation started; null when it could not be read. */
export type Snapshot = KvDeployment | null;

export type LookResult =
	| {
			ok: true;
			state: RolloutState;
			/** The state to publish to KV, when KV does not hold it yet. */
			publish: RolloutState | null;
			decision: { kind: Decision["kind"]; code: string; reason: string };
			/** The spec in KV is invalid: the look ran on the last valid one. */
			specIssues?: ConfigIssue[];
			/** Webhook deliveries queued in the outbox (the alarm sends them). */
			notified: number;
	  }
	| { ok: false; skipped: string; cleanup?: boolean };

export type ActOutcome =
	| {
			ok: true;
			state: RolloutState;
			publish: RolloutState | null;
			/** The spec the action was applied under. */
			spec: DeploymentSpec | null;
			/** Webhook deliveries queued in the outbox (the alarm sends them). */
			notified: number;
	  }
	| { ok: false; code: ActErrorCode; message: string; state: RolloutState | null };

export type ActErrorCode =
	| "deployment_not_found"
	| "invalid_transition"
	| "revision_conflict"
	| "spec_required";

/** Counts the webhook deliveries an operation queued. */
interface Notes {
	queued: number;
}

/**
 * Appends an audit entry and, in the same transaction, queues the event it
 * announces for every webhook of the spec that wants it.
 */
function announce(
	sql: SqlStorage,
	spec: DeploymentSpec | null,
	notes: Notes,
	entry: Parameters<typeof appendAudit>[1] & { code?: string },
): void {
	const { code, ...audit } = entry;
	const auditId = appendAudit(sql, audit);
	notes.queued += enqueueEvent(sql, spec, {
		auditId,
		kind: audit.kind,
		code,
		time: audit.time,
		actor: audit.actor,
		from: audit.from,
		to: audit.to,
		revision: audit.to.revision,
		reason: audit.reason,
		details: audit.details,
	});
}

/** Takes in the spec KV holds: a valid one becomes the last valid spec; an invalid one is logged once. */
function absorbSpec(
	sql: SqlStorage,
	record: RolloutRecord,
	snapshot: Snapshot,
	now: number,
): ConfigIssue[] | undefined {
	const spec = snapshot?.spec;
	if (!spec || spec.kind === "missing") return undefined;
	const seen = spec.raw === record.specRaw;
	record.specRaw = spec.raw;
	if (spec.kind === "ok") {
		record.spec = spec.value;
		return undefined;
	}
	if (!seen) {
		const state = record.state ?? PENDING;
		appendAudit(sql, {
			time: now,
			actor: "manual",
			kind: "spec_invalid",
			from: state,
			to: state,
			reason: `the spec in KV is invalid (${spec.issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}); ${record.spec ? "the last valid spec stays in force" : "no valid spec is known"}`,
		});
	}
	return spec.issues;
}

function reconcileInput(
	record: RolloutRecord,
	snapshot: NonNullable<Snapshot>,
	now: number,
	spec: DeploymentSpec | null,
): ReconcileInput {
	return {
		spec,
		stored: record.state,
		published: record.published,
		handledRaw: record.handledRaw,
		copies: record.copies,
		kv: snapshot.state,
		now,
	};
}

/** What reconciling with KV would make of the state, recording nothing (reports). */
export function reconciledState(
	record: RolloutRecord,
	snapshot: Snapshot,
	now: number,
	spec: DeploymentSpec | null,
): RolloutState | null {
	return snapshot === null
		? record.state
		: reconcile(reconcileInput(record, snapshot, now, spec)).state;
}

/** Brings the stored state in line with KV (see rollout/reconcile.ts) and records what happened. */
function reconcileWithKv(
	sql: SqlStorage,
	record: RolloutRecord,
	snapshot: Snapshot,
	now: number,
	notes: Notes = { queued: 0 },
): RolloutState {
	if (snapshot === null) return record.state ?? PENDING;
	const result = reconcile(reconcileInput(record, snapshot, now, record.spec));
	if (result.event) {
		announce(sql, record.spec, notes, {
			time: now,
			actor: result.event.actor,
			kind: result.event.kind,
			from: result.event.from,
			to: result.state,
			reason: result.event.reason,
		});
	}
	if (result.stale) {
		logWarn("stale_state_ignored", {
			deployment: record.spec?.name,
			revision: result.stale.revision,
			published: result.stale.published,
		});
	}
	if (result.handledRaw !== undefined) record.handledRaw = result.handledRaw;
	if (result.kv === "published") {
		record.published = result.state;
		notePublished(record, result.state);
	} else if (result.kv === "differs") record.published = null;
	record.state = result.state;
	return result.state;
}

/** The state KV must be given, if any. */
function toPublish(record: RolloutRecord): RolloutState | null {
	const state = record.state;
	if (state === null || sameState(state, record.published)) return null;
	// Nothing to announce for a deployment nobody has started: the edge treats no state as pending.
	if (state.status === "pending" && state.revision === 0 && record.published === null) return null;
	return state;
}

/** A deleted deployment whose spec is back in KV with new content was re-created by hand. */
function recreatedByHand(record: RolloutRecord, snapshot: Snapshot): boolean {
	const spec = snapshot?.spec;
	return (
		record.deleted !== null &&
		spec !== undefined &&
		spec.kind !== "missing" &&
		spec.raw !== record.deleted.specRaw
	);
}

/** After a revival, whatever state KV still holds for the name is an orphan: it is overwritten, not read. */
function withoutState(snapshot: Snapshot): Snapshot {
	return snapshot && { spec: snapshot.spec, state: { kind: "missing" } };
}

/** Lifts a tombstone: the deployment starts again from pending, never from its old state. */
function revive(
	sql: SqlStorage,
	record: RolloutRecord,
	actor: Actor,
	reason: string,
	now: number,
): void {
	const previous = record.state ?? PENDING;
	const state = restart(previous, { reason, actor, now });
	appendAudit(sql, { time: now, actor, kind: "recreated", from: previous, to: state, reason });
	Object.assign(record, {
		state,
		published: null,
		deleted: null,
		handledRaw: null,
		memory: EMPTY_MEMORY,
		lastCode: null,
	});
}

export function decisionDetails(report: AnalysisReport): Json {
	if (report.strategy === "canary") {
		return toJson({
			step: report.step,
			guardrails: report.guardrails.map(
				({ name, status, champion, candidate, difference, margin, pValue, alpha }) => ({
					name,
					status,
					champion,
					candidate,
					difference,
					margin,
					pValue,
					alpha,
				}),
			),
			srm: { pValue: report.srm.pValue, mismatch: report.srm.mismatch },
			ceiling: report.ceiling,
			power: {
				minutesToDecision: report.power.minutesToDecision,
				underpowered: report.power.underpowered,
			},
		});
	}
	if (report.strategy === "ab") {
		return toJson({
			verdict: report.verdict,
			primary: report.metrics.find((m) => m.metric === report.primary),
			srm: { pValue: report.srm.pValue },
		});
	}
	return toJson({ comparisons: report.comparisons, promotion: report.promotion });
}

/** One controller look: reconcile with KV, analyse, decide, record. */
export function look(sql: SqlStorage, kvSnapshot: Snapshot, now: number): LookResult {
	let snapshot = kvSnapshot;
	const record = loadRollout(sql);
	if (record.deleted) {
		if (!recreatedByHand(record, snapshot)) {
			const leftover = snapshot !== null && snapshot.spec.kind !== "missing";
			return { ok: false, skipped: "the deployment was deleted", cleanup: leftover };
		}
		revive(sql, record, "manual", "the spec was re-created in KV: starting from pending", now);
		snapshot = withoutState(snapshot);
	}
	const specIssues = absorbSpec(sql, record, snapshot, now);
	const spec = record.spec;
	if (spec === null) {
		saveRollout(sql, record);
		return {
			ok: false,
			skipped:
				snapshot?.spec.kind === "invalid"
					? "the spec in KV is invalid and no valid one is known"
					: "no spec is known",
		};
	}
	const notes: Notes = { queued: 0 };
	let state = reconcileWithKv(sql, record, snapshot, now, notes);
	const { report, memory } = analyze(spec, state, rowsFor(sql, state, now), record.memory, now);
	const decision = decide(spec, state, report, now);
	if (decision.next) {
		announce(sql, spec, notes, {
			time: now,
			actor: "controller",
			kind: decision.kind,
			code: decision.code,
			from: state,
			to: decision.next,
			reason: decision.reason,
			details: decisionDetails(report),
		});
		state = decision.next;
		record.state = state;
	} else if (decision.kind === "hold" && decision.code !== record.lastCode) {
		announce(sql, spec, notes, {
			time: now,
			actor: "controller",
			kind: "hold",
			code: decision.code,
			from: state,
			to: state,
			reason: decision.reason,
			details: decisionDetails(report),
		});
	}
	record.memory = memory;
	record.lastCode = decision.code;
	saveRollout(sql, record);
	return {
		ok: true,
		state,
		publish: toPublish(record),
		decision: { kind: decision.kind, code: decision.code, reason: decision.reason },
		...(specIssues ? { specIssues } : {}),
		notified: notes.queued,
	};
}

export interface ActInput {
	action: AdminAction;
	actor: Actor;
	reason?: string;
	expectedRevision?: number;
	now: number;
}

/**
 * An operator's action, applied like a controller transition (same revision,
 * same log). Abort, pause and resume need no spec: they work on the state
 * alone, whatever KV holds.
 */
export function act(sql: SqlStorage, snapshot: Snapshot, input: ActInput): ActOutcome {
	const record = loadRollout(sql);
	if (record.deleted && !recreatedByHand(record, snapshot)) return notFound(null);
	let current = snapshot;
	if (record.deleted) {
		revive(
			sql,
			record,
			"manual",
			"the spec was re-created in KV: starting from pending",
			input.now,
		);
		current = withoutState(snapshot);
	}
	absorbSpec(sql, record, current, input.now);
	if (record.state === null && record.spec === null && current?.state.kind !== "ok") {
		saveRollout(sql, record);
		return notFound(null);
	}
	const notes: Notes = { queued: 0 };
	const state = reconcileWithKv(sql, record, current, input.now, notes);
	const refuse = (code: ActErrorCode, message: string): ActOutcome => {
		saveRollout(sql, record);
		return { ok: false, code, message, state };
	};
	if (input.expectedRevision !== undefined && input.expectedRevision !== state.revision) {
		return refuse(
			"revision_conflict",
			`the rollout changed meanwhile (revision ${state.revision}, expected ${input.expectedRevision})`,
		);
	}
	const result = applyAction(
		record.spec,
		state,
		input.action,
		input.now,
		input.actor,
		input.reason,
	);
	if (!result.ok)
		return refuse(result.needsSpec ? "spec_required" : "invalid_transition", result.error);
	announce(sql, record.spec, notes, {
		time: input.now,
		actor: input.actor,
		kind: `${input.actor}:${input.action.type}`,
		from: state,
		to: result.next,
		reason: result.next.reason,
	});
	record.state = result.next;
	record.lastCode = null;
	saveRollout(sql, record);
	return {
		ok: true,
		state: result.next,
		publish: toPublish(record),
		spec: record.spec,
		notified: notes.queued,
	};
}

function notFound(state: RolloutState | null): ActOutcome {
	return {
		ok: false,
		code: "deployment_not_found",
		message: "no such deployment",
		state,
	};
}

export type PutSpecOutcome =
	| { ok: true; created: boolean; rebucketed: boolean; statePublish: RolloutState | null }
	| ({ ok: false } & SpecChangeRefusal);

/**
 * A spec written through the admin API. A rebucketing change (salt, hash
 * version, ingest shards) on a live rollout is refused unless asked for, and so is a new
 * backend or version for a variant of a rollout in progress (its metrics so
 * far are about another model) unless forced. A new or deleted
 * deployment starts from pending, and when KV still holds a state for the
 * name, the pending state is published before the spec, so no leftover
 * state can put it live.
 */
export function putSpec(
	sql: SqlStorage,
	snapshot: Snapshot,
	input: { spec: DeploymentSpec; raw: string; rebucket: boolean; force: boolean; now: number },
): PutSpecOutcome {
	const record = loadRollout(sql);
	const { spec, now } = input;
	const inKv = snapshot === null || snapshot.spec.kind !== "missing";
	const fresh = record.deleted !== null || (record.state === null && record.spec === null && !inKv);
	let existing: DeploymentSpec | null = null;
	let rebucketed = false;
	if (fresh) {
		const leftover = snapshot === null || snapshot.state.kind !== "missing";
		if (record.deleted !== null || leftover) {
			revive(sql, record, "admin", "created through the admin API: starting from pending", now);
		}
	} else {
		absorbSpec(sql, record, snapshot, now);
		existing = record.spec;
		const state = reconcileWithKv(sql, record, snapshot, now);
		if (existing !== null) {
			const refusal = specChangeRefusal(existing, spec, state, input);
			if (refusal) {
				saveRollout(sql, record);
				return { ok: false, ...refusal };
			}
			rebucketed = rebuckets(existing, spec);
		}
	}
	const created = existing === null;
	const after = record.state ?? PENDING;
	appendAudit(sql, {
		time: now,
		actor: "admin",
		kind: created ? "admin:create" : "admin:replace",
		from: after,
		to: after,
		reason: rebucketed
			? "spec replaced with a new salt or hash version: users were reassigned"
			: created
				? "spec created"
				: "spec replaced",
	});
	record.spec = spec;
	record.specRaw = input.raw;
	saveRollout(sql, record);
	return { ok: true, created, rebucketed, statePublish: toPublish(record) };
}

/**
 * Deletion: a tombstone that no later look, stale read or leftover key can
 * lift; only a new spec can (and it starts from pending).
 */
export function remove(
	sql: SqlStorage,
	snapshot: Snapshot,
	now: number,
): { ok: true } | { ok: false } {
	const record = loadRollout(sql);
	const kvSpec = snapshot?.spec;
	const inKv = kvSpec !== undefined && kvSpec.kind !== "missing";
	if (!inKv && (record.deleted !== null || (record.spec === null && record.state === null)))
		return { ok: false };
	const previous = record.state ?? PENDING;
	const state = restart(previous, { reason: "deployment deleted", actor: "admin", now });
	appendAudit(sql, {
		time: now,
		actor: "admin",
		kind: "admin:delete",
		from: previous,
		to: state,
		reason: "deployment deleted",
	});
	Object.assign(record, {
		state,
		published: null,
		memory: EMPTY_MEMORY,
		lastCode: null,
		spec: null,
		handledRaw: null,
		deleted: {
			at: now,
			specRaw: kvSpec && kvSpec.kind !== "missing" ? kvSpec.raw : record.specRaw,
		},
	} satisfies Partial<RolloutRecord>);
	saveRollout(sql, record);
	return { ok: true };
}

/** KV now holds the state of `revision`. */
export function confirmPublished(sql: SqlStorage, state: RolloutState): void {
	const record = loadRollout(sql);
	if (record.state && record.state.revision === state.revision) {
		record.published = state;
		notePublished(record, state);
		saveRollout(sql, record);
	}
}
