/**
 * MetricsStore: the SQLite-backed Durable Object of one deployment (named by
 * the deployment), reached over RPC. A thin shell: SQL lives in tables.ts,
 * merging in aggregate.ts. The retention alarm deletes old minutes and
 * surplus shadow samples off the request path.
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../config/settings";
import { migrate } from "../lib/sql-migrations";
import type { AggregateRow, FeedbackAggregate } from "./aggregate";
import { type IngestBatch, MINUTE_MS } from "./batch";
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

const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface FeedbackInput {
	requestId: string;
	variant: "champion" | "candidate";
	requestTime: number;
	value: number;
}

/** Minutes overlapping [from, to): a minute row covers [m·60 s, (m + 1)·60 s). */
export function minuteRange(fromMs: number, toMs: number): [number, number] {
	return [Math.floor(fromMs / MINUTE_MS), Math.ceil(toMs / MINUTE_MS)];
}

export class MetricsStore extends DurableObject<Env> {
	#alarmSet = false;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		void ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, METRICS_MIGRATIONS);
		});
	}

	/** Adds an isolate's batch of pre-aggregated observations and shadow samples. */
	async ingest(batch: IngestBatch): Promise<void> {
		this.ctx.storage.transactionSync(() => ingestBatch(this.ctx.storage.sql, batch));
		await this.ensureRetentionAlarm();
	}

	/** Attributes a feedback value to its request's variant; a repeated request id is a duplicate. */
	async recordFeedback(input: FeedbackInput): Promise<{ duplicate: boolean }> {
		const added = this.ctx.storage.transactionSync(() =>
			addFeedback(this.ctx.storage.sql, { ...input, now: Date.now() }),
		);
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
