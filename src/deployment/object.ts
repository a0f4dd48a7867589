/**
 * DeploymentObject: the SQLite-backed Durable Object of one deployment (named
 * by the deployment), reached over RPC. It is the one authority over the
 * rollout — the only writer of `state:<name>` in KV, the keeper of the last
 * valid spec, the audit log and the tombstone of a deletion — and it stores
 * the deployment's metrics. A thin shell: control operations live in
 * authority.ts (KV I/O) and engine.ts (one transaction each), SQL in
 * record.ts and metrics-tables.ts, decisions in the pure rollout/ core.
 * Isolates send metrics and feedback to the deployment's ingest shards
 * (src/ingest); the shards push their closed generations here (`stage`),
 * exactly once, and before every look and every metrics read the object
 * folds what is staged into its own tables (ingest/merge.ts), so the
 * analysis and the admin reads see the same tables as before.
 * One alarm serves two jobs (alarm-jobs.ts): hourly retention (old minutes,
 * surplus shadow samples, old deliveries) and the webhook outbox (outbox.ts).
 * It is always set to the earliest due time, and the handler re-arms itself
 * whatever fails, so neither job is ever dropped.
 */
import { DurableObject } from "cloudflare:workers";
import type { RescuedConfig } from "../config/cache";
import { settingsOf } from "../config/settings";
import type { DeploymentSpec } from "../config/spec";
import { foldStaged, MERGE_MIGRATIONS, pruneStaged, stagePush } from "../ingest/merge";
import type { ShardCursor, ShardPush } from "../ingest/protocol";
import { fetcherOf } from "../lib/fetcher";
import { logError } from "../lib/log";
import type { AggregateRow, FeedbackAggregate } from "../metrics/aggregate";
import type { IngestBatch } from "../metrics/batch";
import { MINUTE_MS, minuteRange } from "../metrics/minutes";
import { ALARM_MIGRATIONS, clearJob, jobDue, nextAlarm, scheduleJob } from "./alarm-jobs";
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
	aggregateRows,
	applyRetention,
	capShadowSamples,
	feedbackTotals,
	hasData,
	ingestBatch,
	METRICS_MIGRATIONS,
	type MinuteSeriesRow,
	minuteSeries,
	recentShadowSamples,
	type StoredShadowSample,
} from "./metrics-tables";
import {
	dueDeliveries,
	type NotificationState,
	notificationsFor,
	OUTBOX_MIGRATIONS,
	pruneOutbox,
	recordAttempt,
	send,
} from "./outbox";
import { type AuditEntry, ROLLOUT_MIGRATIONS, readAudit } from "./record";
import { migrate } from "./sql-migrations";

const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** When retention fails, it runs again this much later (and the alarm stays armed). */
const RETENTION_RETRY_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Deliveries sent per alarm run; more due ones make the alarm fire again at once. */
const DELIVERIES_PER_RUN = 25;

/** An audit entry with the state of the webhook deliveries it caused. */
export type HistoryEntry = AuditEntry & { notifications?: NotificationState[] };

export class DeploymentObject extends DurableObject<Env> {
	/** Set once this instance made sure retention is scheduled (SQLite keeps the schedule). */
	#retentionScheduled = false;
	#authority: Authority | undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		void ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, [
				...METRICS_MIGRATIONS,
				...ROLLOUT_MIGRATIONS,
				...OUTBOX_MIGRATIONS,
				...ALARM_MIGRATIONS,
				...ANSWER_MIGRATIONS,
				...MERGE_MIGRATIONS,
			]);
		});
	}

	private get name(): string {
		const name = this.ctx.id.name;
		if (name === undefined) throw new Error("a deployment object must be reached by name");
		return name;
	}

	/** The rollout's authority, over this object's storage and the real KV binding. */
	private get authority(): Authority {
		this.#authority ??= new Authority(this.ctx.storage, this.env.CONFIG, this.name, (due) =>
			this.armBy(due),
		);
		return this.#authority;
	}

	// Control: one call each, from the cron or the admin API.

	/** One controller look: fold what the shards pushed, read KV, reconcile, analyse, decide, record, publish. */
	look(now: number): Promise<Published<LookResult>> {
		this.foldStaged();
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
		/** Allows a new backend or version for a variant of a live rollout. */
		force?: boolean;
		now: number;
	}): Promise<Published<PutSpecOutcome>> {
		return this.authority.putSpec(input.spec, input, input.now);
	}

	/** Deletes the deployment for good (a tombstone; only a new spec starts it again, from pending). */
	remove(now: number): Promise<{ deleted: boolean }> {
		return this.authority.remove(now);
	}

	/** Spec, state and live analysis, for the admin API. */
	report(now: number): Promise<DeploymentReport> {
		this.foldStaged();
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

	/** The audit log, newest first, with the state of the webhook deliveries each entry caused. */
	history(limit: number, before?: number): HistoryEntry[] {
		const sql = this.ctx.storage.sql;
		const entries = readAudit(sql, Math.max(1, Math.min(limit, 500)), before);
		const notifications = notificationsFor(
			sql,
			entries.map((e) => e.id),
		);
		return entries.map((entry) => {
			const sent = notifications.get(entry.id);
			return sent ? { ...entry, notifications: sent } : entry;
		});
	}

	// Metrics.

	/**
	 * A shard's push of its closed generations: staged when it starts at this
	 * object's cursor for the shard, refused otherwise (ingest/merge.ts).
	 * Answers with the cursor, which the shard adopts.
	 */
	async stage(shard: number, push: ShardPush): Promise<ShardCursor> {
		const limit = settingsOf(this.env).SHADOW_SAMPLE_LIMIT;
		const { outcome, cursor } = this.ctx.storage.transactionSync(() =>
			stagePush(this.ctx.storage.sql, shard, push, limit),
		);
		if (outcome === "staged") await this.ensureRetentionAlarm();
		return cursor;
	}

	/** Folds what the shards pushed into the per-minute tables (one transaction). */
	private foldStaged(): void {
		const limit = settingsOf(this.env).SHADOW_SAMPLE_LIMIT;
		this.ctx.storage.transactionSync(() => foldStaged(this.ctx.storage.sql, limit));
	}

	/**
	 * Adds a batch of pre-aggregated observations and shadow samples straight
	 * to the tables (capped at write time). Not idempotent: for seeding and
	 * tests; the request path goes through the ingest shards.
	 */
	async ingest(batch: IngestBatch): Promise<void> {
		const limit = settingsOf(this.env).SHADOW_SAMPLE_LIMIT;
		this.ctx.storage.transactionSync(() => {
			ingestBatch(this.ctx.storage.sql, batch);
			if (batch.samples.length > 0) capShadowSamples(this.ctx.storage.sql, limit);
		});
		await this.ensureRetentionAlarm();
	}

	/** Aggregates per (variant, threshold) over [fromMs, toMs), minute-aligned. */
	aggregates(fromMs: number, toMs: number): AggregateRow[] {
		this.foldStaged();
		return aggregateRows(this.ctx.storage.sql, ...minuteRange(fromMs, toMs));
	}

	/** Feedback moments per variant for requests in [fromMs, toMs), minute-aligned. */
	feedback(fromMs: number, toMs: number): FeedbackAggregate {
		this.foldStaged();
		return feedbackTotals(this.ctx.storage.sql, ...minuteRange(fromMs, toMs));
	}

	/** Per-minute series per variant over [fromMs, toMs). */
	series(fromMs: number, toMs: number): MinuteSeriesRow[] {
		this.foldStaged();
		return minuteSeries(this.ctx.storage.sql, ...minuteRange(fromMs, toMs));
	}

	/** The most recent shadow comparisons, newest first. */
	shadowSamples(limit: number): StoredShadowSample[] {
		this.foldStaged();
		return recentShadowSamples(this.ctx.storage.sql, Math.max(1, Math.min(limit, 10_000)));
	}

	/**
	 * Retention, then the webhook deliveries that are due.
	 * Whatever fails is logged and retried; the alarm is re-armed for the
	 * earliest job in every case.
	 */
	override async alarm(): Promise<void> {
		const now = Date.now();
		try {
			this.retain(now);
		} catch (error) {
			logError("retention_failed", { deployment: this.name, message: String(error) });
			scheduleJob(this.ctx.storage.sql, "retention", now + RETENTION_RETRY_MS);
		}
		try {
			await this.deliverDue(now);
		} catch (error) {
			logError("outbox_failed", { deployment: this.name, message: String(error) });
		}
		await this.rearm();
	}

	/**
	 * Retention, whenever it is scheduled at all: it is cheap (indexed
	 * deletes), so a run for the outbox may as well do it early.
	 */
	private retain(now: number): void {
		const sql = this.ctx.storage.sql;
		const due = jobDue(sql, "retention");
		if (due === null) return;
		const settings = settingsOf(this.env);
		this.ctx.storage.transactionSync(() => {
			const beforeMinute = Math.floor((now - settings.METRICS_RETENTION_DAYS * DAY_MS) / MINUTE_MS);
			applyRetention(sql, {
				beforeMinute,
				sampleLimit: settings.SHADOW_SAMPLE_LIMIT,
				feedbackBefore: now - settings.FEEDBACK_WINDOW_DAYS * DAY_MS,
			});
			pruneStaged(sql, beforeMinute);
			pruneOutbox(sql, now - settings.METRICS_RETENTION_DAYS * DAY_MS);
		});
		if (due > now) return; // run early: the hourly schedule stays as it was
		if (hasData(sql)) scheduleJob(sql, "retention", now + RETENTION_INTERVAL_MS);
		else clearJob(sql, "retention");
	}

	/** Sends the due deliveries (one target at a time, in order) and records each attempt. */
	private async deliverDue(now: number): Promise<void> {
		const sql = this.ctx.storage.sql;
		const settings = settingsOf(this.env);
		const due = dueDeliveries(sql, now, DELIVERIES_PER_RUN);
		const byTarget = new Map<string, typeof due>();
		for (const delivery of due) {
			byTarget.set(delivery.targetKey, [...(byTarget.get(delivery.targetKey) ?? []), delivery]);
		}
		const context = {
			deployment: this.name,
			secret: this.env.WEBHOOK_SECRET,
			binding: (name: string) => fetcherOf(this.env, name),
			timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
		};
		const policy = {
			baseMs: settings.WEBHOOK_RETRY_BASE_MS,
			maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
		};
		await Promise.all(
			[...byTarget.values()].map(async (queue) => {
				for (const delivery of queue) {
					const outcome = await send(delivery, context);
					recordAttempt(sql, delivery, outcome, Date.now(), policy);
					if (!outcome.ok) {
						logError("webhook_failed", { deployment: this.name, message: String(outcome.error) });
						// Later events to this target wait for this one: receivers see them in order.
						return;
					}
				}
			}),
		);
	}

	/** Sets the alarm to the earliest job or delivery (or clears it when nothing is due). */
	private async rearm(): Promise<void> {
		const next = nextAlarm(this.ctx.storage.sql);
		if (next === null) await this.ctx.storage.deleteAlarm();
		else await this.ctx.storage.setAlarm(next);
	}

	/** Makes sure the alarm fires by `due`. */
	private async armBy(due: number): Promise<void> {
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > due) await this.ctx.storage.setAlarm(due);
	}

	private async ensureRetentionAlarm(): Promise<void> {
		if (this.#retentionScheduled) return;
		const sql = this.ctx.storage.sql;
		scheduleJob(sql, "retention", Date.now() + RETENTION_INTERVAL_MS, true);
		await this.armBy(jobDue(sql, "retention") ?? Date.now());
		this.#retentionScheduled = true;
	}
}
