/**
 * MetricsStore: the SQLite-backed Durable Object of one deployment (named by
 * the deployment), reached over RPC. It holds the deployment's metrics and is
 * the source of truth for its rollout state and audit log. A thin shell: SQL
 * lives in metrics/tables.ts and rollout/journal.ts, decisions in
 * rollout/engine.ts; each RPC that changes state runs in one transaction.
 * The retention alarm deletes old minutes and surplus shadow samples off the
 * request path.
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../config/settings";
import type { DeploymentSpec } from "../config/spec";
import { type Actor, epochOf, type RolloutState } from "../config/state";
import { migrate } from "../lib/sql-migrations";
import type { AnalysisReport } from "../rollout/analysis";
import {
	type ActResult,
	act,
	confirmPublished,
	liveReport,
	note as noteEvent,
	type TickResult,
	tick,
} from "../rollout/engine";
import {
	type AuditEntry,
	appendAudit,
	clearRollout,
	loadRollout,
	ROLLOUT_MIGRATIONS,
	readAudit,
} from "../rollout/journal";
import type { KvState } from "../rollout/reconcile";
import type { AdminAction } from "../rollout/transitions";
import type { AggregateRow, FeedbackAggregate } from "./aggregate";
import type { IngestBatch } from "./batch";
import {
	addFeedback,
	aggregateRows,
	applyRetention,
	feedbackWindow,
	hasData,
	ingestBatch,
	METRICS_MIGRATIONS,
	type MinuteSeriesRow,
	minuteSeries,
	recentShadowSamples,
	type StoredShadowSample,
} from "./tables";
import { MINUTE_MS, minuteRange } from "./windows";

const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface FeedbackInput {
	requestId: string;
	variant: "champion" | "candidate";
	requestTime: number;
	value: number;
}

export class MetricsStore extends DurableObject<Env> {
	#alarmSet = false;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		void ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, [...METRICS_MIGRATIONS, ...ROLLOUT_MIGRATIONS]);
		});
	}

	/** Adds an isolate's batch of pre-aggregated observations and shadow samples. */
	async ingest(batch: IngestBatch): Promise<void> {
		this.ctx.storage.transactionSync(() => ingestBatch(this.ctx.storage.sql, batch));
		await this.ensureRetentionAlarm();
	}

	/** Attributes a feedback value to its request's variant; a repeated request id is a duplicate. */
	async recordFeedback(input: FeedbackInput): Promise<{ duplicate: boolean }> {
		const added = this.ctx.storage.transactionSync(() => {
			const { state } = loadRollout(this.ctx.storage.sql);
			// Feedback about a request from before the current rollout started belongs to no analysis window.
			const epoch = state && input.requestTime >= epochOf(state) ? epochOf(state) : 0;
			return addFeedback(this.ctx.storage.sql, { ...input, epoch });
		});
		await this.ensureRetentionAlarm();
		return { duplicate: !added };
	}

	/** Aggregates per (variant, threshold) over [fromMs, toMs), minute-aligned. */
	aggregates(fromMs: number, toMs: number): AggregateRow[] {
		return aggregateRows(this.ctx.storage.sql, ...minuteRange(fromMs, toMs));
	}

	/** Feedback moments per variant for requests in [fromMs, toMs), minute-aligned. */
	feedback(fromMs: number, toMs: number): FeedbackAggregate {
		return feedbackWindow(this.ctx.storage.sql, ...minuteRange(fromMs, toMs));
	}

	/** Per-minute series per variant over [fromMs, toMs). */
	series(fromMs: number, toMs: number): MinuteSeriesRow[] {
		return minuteSeries(this.ctx.storage.sql, ...minuteRange(fromMs, toMs));
	}

	/** The most recent shadow comparisons, newest first. */
	shadowSamples(limit: number): StoredShadowSample[] {
		return recentShadowSamples(this.ctx.storage.sql, Math.max(1, Math.min(limit, 10_000)));
	}

	/** One controller look: reconcile with KV, analyse, decide, record. */
	tick(input: { spec: DeploymentSpec; kv: KvState; now: number }): TickResult {
		return this.ctx.storage.transactionSync(() =>
			tick(this.ctx.storage.sql, input.spec, input.kv, input.now),
		);
	}

	/** An operator's action, applied and logged like a controller transition. */
	act(input: {
		spec: DeploymentSpec;
		kv: KvState;
		action: AdminAction;
		actor: Actor;
		reason?: string;
		now: number;
		expectedRevision?: number;
	}): ActResult {
		return this.ctx.storage.transactionSync(() =>
			act(
				this.ctx.storage.sql,
				input.spec,
				input.kv,
				input.action,
				input.actor,
				input.reason,
				input.now,
				input.expectedRevision,
			),
		);
	}

	/** KV now holds the state of `revision`. */
	confirmPublished(revision: number): void {
		this.ctx.storage.transactionSync(() => confirmPublished(this.ctx.storage.sql, revision));
	}

	/** The current state and the live analysis report. */
	report(
		spec: DeploymentSpec,
		kv: KvState,
		now: number,
	): { state: RolloutState; report: AnalysisReport } {
		return liveReport(this.ctx.storage.sql, spec, kv, now);
	}

	/** Records a spec change or another non-transition event in the audit log. */
	note(entry: { kind: string; actor: Actor; reason: string; now: number }): void {
		this.ctx.storage.transactionSync(() => noteEvent(this.ctx.storage.sql, entry));
	}

	/** The audit log, newest first. */
	history(limit: number, before?: number): AuditEntry[] {
		return readAudit(this.ctx.storage.sql, Math.max(1, Math.min(limit, 500)), before);
	}

	/** The deployment was deleted: forget its rollout state (metrics age out with retention). */
	forget(now: number): void {
		this.ctx.storage.transactionSync(() => {
			const { state } = loadRollout(this.ctx.storage.sql);
			if (state) {
				appendAudit(this.ctx.storage.sql, {
					time: now,
					actor: "admin",
					kind: "admin:delete",
					from: state,
					to: { ...state, status: "pending", weight: 0 },
					reason: "deployment deleted",
				});
			}
			clearRollout(this.ctx.storage.sql);
		});
	}

	override async alarm(): Promise<void> {
		const settings = settingsOf(this.env);
		const now = Date.now();
		applyRetention(this.ctx.storage.sql, {
			beforeMinute: Math.floor((now - settings.METRICS_RETENTION_DAYS * DAY_MS) / MINUTE_MS),
			sampleLimit: settings.SHADOW_SAMPLE_LIMIT,
			feedbackBefore: now - settings.FEEDBACK_WINDOW_DAYS * DAY_MS,
		});
		this.#alarmSet = false;
		if (hasData(this.ctx.storage.sql)) await this.ensureRetentionAlarm();
	}

	private async ensureRetentionAlarm(): Promise<void> {
		if (this.#alarmSet) return;
		if ((await this.ctx.storage.getAlarm()) === null) {
			await this.ctx.storage.setAlarm(Date.now() + RETENTION_INTERVAL_MS);
		}
		this.#alarmSet = true;
	}
}
