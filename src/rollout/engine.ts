/**
 * Rollout transitions as they run inside a deployment's MetricsStore: load
 * the record, reconcile with KV, read the metric windows, analyse, decide,
 * record and say whether KV needs the new state. Everything here is
 * synchronous SQL plus pure functions, so the Durable Object runs each call
 * in one transaction: concurrent cron runs and admin actions serialise, and
 * a step is never taken twice.
 */
import type { DeploymentSpec } from "../config/spec";
import type { Actor, RolloutState } from "../config/state";
import { epochOf, PENDING } from "../config/state";
import { type Json, toJson } from "../lib/json";
import { feedbackMinutes, minuteRows } from "../metrics/tables";
import { minuteRange } from "../metrics/windows";
import { type AnalysisReport, type AnalysisWindows, analyze } from "./analysis";
import { type Decision, decide } from "./controller";
import { appendAudit, loadRollout, type RolloutRecord, saveRollout } from "./journal";
import { type KvState, reconcile, sameState } from "./reconcile";
import { type AdminAction, applyAction } from "./transitions";

/** A publication not confirmed within this long is asked for again. */
const REPUBLISH_AFTER_MS = 60_000;

export interface TickResult {
	state: RolloutState;
	/** True when KV must be written with `state` (then confirmPublished). */
	publish: boolean;
	decision: { kind: Decision["kind"]; code: string; reason: string };
}

export type ActResult =
	| { ok: true; state: RolloutState; publish: boolean }
	| { ok: false; state: RolloutState; error: string };

/**
 * The analysis input: every row of the current rollout epoch from the
 * rollout's start on, QA-pinned rows (threshold < 0) left out; the analysis
 * derives the current step's window itself.
 */
export function windowsFor(sql: SqlStorage, state: RolloutState, now: number): AnalysisWindows {
	const end = now + 60_000;
	const since = state.since ? Date.parse(state.since) : now;
	const epoch = epochOf(state);
	const started = epoch > 0 ? epoch : since;
	const range = minuteRange(started, end);
	return {
		minutes: minuteRows(sql, ...range, epoch).filter((row) => row.threshold >= 0),
		feedback: feedbackMinutes(sql, ...range, epoch),
	};
}

/** The numbers behind a decision, compact enough for the audit log. */
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

function applyReconcile(
	sql: SqlStorage,
	record: RolloutRecord,
	spec: DeploymentSpec,
	kv: KvState,
	now: number,
): RolloutState {
	const result = reconcile(spec, record.state, record.published, kv, now);
	if (result.event) {
		appendAudit(sql, {
			time: now,
			actor: result.event.actor,
			kind: result.event.kind,
			from: result.event.from,
			to: result.state,
			reason: result.event.reason,
		});
		if (result.event.kind === "adopted" && kv.kind === "ok") record.published = kv.state;
		if (result.event.kind === "repair") record.published = null;
		if (result.event.kind === "manual") record.published = kv.kind === "ok" ? kv.state : null;
	}
	record.state = result.state;
	return result.state;
}

function needsPublish(record: RolloutRecord, now: number): boolean {
	const state = record.state;
	if (state === null || (record.published !== null && sameState(state, record.published)))
		return false;
	// Nothing to announce for a deployment nobody has started: the edge treats no state as pending.
	if (state.status === "pending" && state.revision === 0 && record.published === null) return false;
	const publishing = record.publishing;
	if (
		publishing &&
		publishing.revision === state.revision &&
		now - publishing.at < REPUBLISH_AFTER_MS
	)
		return false;
	record.publishing = { revision: state.revision, at: now };
	return true;
}

/** One controller look at a deployment. */
export function tick(sql: SqlStorage, spec: DeploymentSpec, kv: KvState, now: number): TickResult {
	const record = loadRollout(sql);
	let state = applyReconcile(sql, record, spec, kv, now);
	const { report, memory } = analyze(spec, state, windowsFor(sql, state, now), record.memory, now);
	const decision = decide(spec, state, report, now);
	if (decision.next) {
		appendAudit(sql, {
			time: now,
			actor: "controller",
			kind: decision.kind,
			from: state,
			to: decision.next,
			reason: decision.reason,
			details: decisionDetails(report),
		});
		state = decision.next;
		record.state = state;
	} else if (decision.kind === "hold" && decision.code !== record.lastCode) {
		appendAudit(sql, {
			time: now,
			actor: "controller",
			kind: "hold",
			from: state,
			to: state,
			reason: decision.reason,
			details: decisionDetails(report),
		});
	}
	record.memory = memory;
	record.lastCode = decision.code;
	const publish = needsPublish(record, now);
	saveRollout(sql, record);
	return {
		state,
		publish,
		decision: { kind: decision.kind, code: decision.code, reason: decision.reason },
	};
}

/** An operator's action, applied like a controller transition (same revision, same log). */
export function act(
	sql: SqlStorage,
	spec: DeploymentSpec,
	kv: KvState,
	action: AdminAction,
	actor: Actor,
	reason: string | undefined,
	now: number,
	expectedRevision?: number,
): ActResult {
	const record = loadRollout(sql);
	const state = applyReconcile(sql, record, spec, kv, now);
	if (expectedRevision !== undefined && expectedRevision !== state.revision) {
		saveRollout(sql, record);
		return {
			ok: false,
			state,
			error: `the rollout changed meanwhile (revision ${state.revision}, expected ${expectedRevision})`,
		};
	}
	const result = applyAction(spec, state, action, now, actor, reason);
	if (!result.ok) {
		saveRollout(sql, record);
		return { ok: false, state, error: result.error };
	}
	appendAudit(sql, {
		time: now,
		actor,
		kind: `${actor}:${action.type}`,
		from: state,
		to: result.next,
		reason: result.next.reason,
	});
	record.state = result.next;
	record.lastCode = null;
	const publish = needsPublish(record, now);
	saveRollout(sql, record);
	return { ok: true, state: result.next, publish };
}

/** Records that KV now holds the state of `revision`. */
export function confirmPublished(sql: SqlStorage, revision: number): void {
	const record = loadRollout(sql);
	if (record.state && record.state.revision === revision) {
		record.published = record.state;
		record.publishing = null;
		saveRollout(sql, record);
	}
}

/**
 * The live analysis for the admin API. Reads only: the state shown is what
 * the controller would adopt from KV right now, and the memory is not advanced.
 */
export function liveReport(
	sql: SqlStorage,
	spec: DeploymentSpec,
	kv: KvState,
	now: number,
): { state: RolloutState; report: AnalysisReport } {
	const record = loadRollout(sql);
	const state = reconcile(spec, record.state, record.published, kv, now).state;
	return {
		state,
		report: analyze(spec, state, windowsFor(sql, state, now), record.memory, now).report,
	};
}

/** Records a change that is not a state transition (a new spec, a deletion) in the audit log. */
export function note(
	sql: SqlStorage,
	entry: { kind: string; actor: Actor; reason: string; now: number },
): void {
	const state = loadRollout(sql).state ?? PENDING;
	appendAudit(sql, {
		time: entry.now,
		actor: entry.actor,
		kind: entry.kind,
		from: state,
		to: state,
		reason: entry.reason,
	});
}
