/**
 * DeploymentObject: the SQLite-backed Durable Object of one deployment (named
 * by the deployment), reached over RPC. It is the one authority over the
 * rollout — the only writer of `state:<name>` in KV, the keeper of the last
 * valid spec, the audit log and the tombstone of a deletion — and it stores
 * the deployment's metrics. A thin shell: control operations live in
 * authority.ts (KV I/O) and engine.ts (one transaction each), SQL in
 * record.ts and metrics-tables.ts, decisions in the pure rollout/ core.
 * The retention alarm deletes old minutes and surplus shadow samples off the
 * request path.
 */
import { DurableObject } from "cloudflare:workers";
import type { RescuedConfig } from "../config/cache";
import { settingsOf } from "../config/settings";
import type { DeploymentSpec } from "../config/spec";
import { epochOf } from "../config/state";
import type { AggregateRow, FeedbackAggregate } from "../metrics/aggregate";
import type { IngestBatch } from "../metrics/batch";
import { MINUTE_MS, minuteRange } from "../metrics/windows";
import { ANSWER_MIGRATIONS } from "./answer-tables";
import {
	type ActResult,
	Authority,
	type DeploymentReport,
	type DeploymentSummary,
	type Published,
} from "./authority";
import type { ActInput, LookResult, PutSpecOutcome } from "./engine";
import {
	addFeedback,
	aggregateRows,
	applyRetention,
	capShadowSamples,
	type FeedbackRecord,
	feedbackSeenCount,
	feedbackWindow,
	hasData,
	ingestBatch,
	METRICS_MIGRATIONS,
	type MinuteSeriesRow,
	minuteSeries,
	recentShadowSamples,
	type StoredShadowSample,
} from "./metrics-tables";
import { type AuditEntry, loadRollout, ROLLOUT_MIGRATIONS, readAudit } from "./record";
import { migrate } from "./sql-migrations";

const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export type FeedbackInput = Omit<FeedbackRecord, "epoch">;

export interface FeedbackResult {
	duplicate: boolean;
	/** Public feedback: this unit already sent a value for that minute of request. */
	limited: boolean;
	/** The de-duplication set is full (FEEDBACK_SEEN_LIMIT): nothing was recorded. */
	full: boolean;
}

export class DeploymentObject extends DurableObject<Env> {
	#alarmSet = false;
	#authority: Authority | undefined;
	/** Rows in feedback_seen, counted once per instance, then kept up to date. */
	#feedbackSeen: number | undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		void ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, [...METRICS_MIGRATIONS, ...ROLLOUT_MIGRATIONS, ...ANSWER_MIGRATIONS]);
		});
	}

	/** The rollout's authority, over this object's storage and the real KV binding. */
	private get authority(): Authority {
		const name = this.ctx.id.name;
		if (name === undefined) throw new Error("a deployment object must be reached by name");
		this.#authority ??= new Authority(this.ctx.storage, this.env.CONFIG, name);
		return this.#authority;
	}

	// Control: one call each, from the cron or the admin API.

	/** One controller look: read KV, reconcile, analyse, decide, record, publish. */
	look(now: number): Promise<Published<LookResult>> {
		return this.authority.look(now);
	}

	/** An operator's action, applied and logged like a controller transition. */
	act(input: ActInput): Promise<ActResult> {
		return this.authority.act(input);
	}

	/** Creates or replaces the spec. */
	putSpec(input: {
		spec: DeploymentSpec;
		rebucket: boolean;
		now: number;
	}): Promise<Published<PutSpecOutcome>> {
		return this.authority.putSpec(input.spec, input.rebucket, input.now);
	}

	/** Deletes the deployment for good (a tombstone; only a new spec starts it again, from pending). */
	remove(now: number): Promise<{ deleted: boolean }> {
		return this.authority.remove(now);
	}

	/** Spec, state and live analysis, for the admin API. */
	report(now: number): Promise<DeploymentReport> {
		return this.authority.report(now);
	}

	/** State and last decision, without a KV read, for listings. */
	summary(): DeploymentSummary {
		return this.authority.summary();
	}

	/** The last valid spec and state, for an edge that finds none valid in KV. */
	rescue(): RescuedConfig | null {
		return this.authority.rescue();
	}

	/** The audit log, newest first. */
	history(limit: number, before?: number): AuditEntry[] {
		return readAudit(this.ctx.storage.sql, Math.max(1, Math.min(limit, 500)), before);
	}

	// Metrics.

	/** Adds an isolate's batch of pre-aggregated observations and shadow samples (capped at write time). */
	async ingest(batch: IngestBatch): Promise<void> {
		const limit = settingsOf(this.env).SHADOW_SAMPLE_LIMIT;
		this.ctx.storage.transactionSync(() => {
			ingestBatch(this.ctx.storage.sql, batch);
			if (batch.samples.length > 0) capShadowSamples(this.ctx.storage.sql, limit);
		});
		await this.ensureRetentionAlarm();
	}

	/**
	 * Attributes a feedback value to its request's assigned variant; a repeated
	 * request id is a duplicate. Storage is capped at write time: past
	 * FEEDBACK_SEEN_LIMIT de-duplication rows, feedback is refused until
	 * retention frees room.
	 */
	async recordFeedback(input: FeedbackInput): Promise<FeedbackResult> {
		const sql = this.ctx.storage.sql;
		this.#feedbackSeen ??= feedbackSeenCount(sql);
		if (this.#feedbackSeen >= settingsOf(this.env).FEEDBACK_SEEN_LIMIT)
			return { duplicate: false, limited: false, full: true };
		const verdict = this.ctx.storage.transactionSync(() => {
			const { state } = loadRollout(sql);
			// Feedback about a request from before the current rollout started belongs to no analysis window.
			const epoch = state && input.requestTime >= epochOf(state) ? epochOf(state) : 0;
			return addFeedback(sql, { ...input, epoch });
		});
		if (verdict !== "duplicate") this.#feedbackSeen += verdict === "added" && input.unit ? 2 : 1;
		await this.ensureRetentionAlarm();
		return { duplicate: verdict === "duplicate", limited: verdict === "limited", full: false };
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

	override async alarm(): Promise<void> {
		const settings = settingsOf(this.env);
		const now = Date.now();
		applyRetention(this.ctx.storage.sql, {
			beforeMinute: Math.floor((now - settings.METRICS_RETENTION_DAYS * DAY_MS) / MINUTE_MS),
			sampleLimit: settings.SHADOW_SAMPLE_LIMIT,
			feedbackBefore: now - settings.FEEDBACK_WINDOW_DAYS * DAY_MS,
		});
		this.#feedbackSeen = undefined;
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
