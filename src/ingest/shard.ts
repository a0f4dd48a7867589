/**
 * IngestShard: one of a deployment's N ingest objects (named
 * `<deployment>:<i>`, binding INGEST). Isolates flush their batches here
 * instead of to the deployment object, so no single object takes every
 * isolate's flushes and every feedback value. A thin shell over
 * ingest/tables.ts:
 *
 * - `ingest(batches)`: applies each batch once per id (rows and samples into
 *   the open generation, this shard's units' feedback into its
 *   de-duplication set, other shards' feedback into the forward queue).
 * - `forward(items)`: feedback a sibling shard received for this shard's
 *   units; applied once per request id (a repeated hand-off is a duplicate).
 * - `pull(cursor)`: the deployment object's read (see ingest/merge.ts).
 * - The alarm hands queued feedback on (one call per target, at most one
 *   round per INGEST_FORWARD_MS, 1 s; retried with backoff) and runs retention (batch ids after
 *   an hour, de-duplication keys after the feedback window, minutes never
 *   pulled after the retention days); it re-arms itself whatever fails.
 *
 * Storage caps hold at write time: shadow samples (SHADOW_SAMPLE_LIMIT) and
 * the de-duplication set (FEEDBACK_SEEN_LIMIT split over the shards; beyond
 * it feedback is refused, counted and reported to isolates, which answer 503
 * `feedback_capacity` for a minute).
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../config/settings";
import { migrate } from "../deployment/sql-migrations";
import { MINUTE_MS } from "../metrics/windows";
import {
	type FeedbackItem,
	type IngestAck,
	type PullResult,
	parseShardName,
	type ShardBatch,
	type ShardCursor,
	shardName,
} from "./protocol";
import {
	applyBatch,
	applyFeedback,
	capSamples,
	clearJob,
	dropForwards,
	type FeedbackVerdicts,
	hasForwards,
	jobDue,
	nextJob,
	pruneShard,
	pull,
	queuedForwards,
	type SeenBudget,
	SHARD_MIGRATIONS,
	scheduleJob,
	seenCount,
	shardHasData,
	shardMeta,
} from "./tables";

const FORWARD_BACKOFF_MIN_MS = 1000;
const FORWARD_BACKOFF_MAX_MS = 60_000;
/** Queue rows handed on per alarm run (each row is one batch's values for one target). */
const FORWARD_ROWS_PER_RUN = 2000;
const RETENTION_INTERVAL_MS = 10 * 60 * 1000;
const RETENTION_RETRY_MS = 5 * 60 * 1000;
/** Batch ids are remembered this long after their creation: isolates stop retrying after 30 minutes. */
export const BATCH_ID_TTL_MS = 60 * 60 * 1000;
/** A sibling that answered "full" is reported full to isolates for this long. */
const FULL_TTL_MS = 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class IngestShard extends DurableObject<Env> {
	/** Rows in feedback_seen, counted once per instance, then kept up to date. */
	#seen: number | undefined;
	/** Siblings (and this shard) known to be full, until when. */
	readonly #full = new Map<number, number>();
	/** The alarm time this instance set, so a busy shard does not set it on every batch. */
	#armedFor: number | null = null;
	#forwardFailures = 0;
	/** Set once this instance made sure retention is scheduled (SQLite keeps the schedule). */
	#retentionScheduled = false;
	/** A hand-off round is scheduled (so a busy shard does not write the schedule per batch). */
	#forwardScheduled = false;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		void ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, SHARD_MIGRATIONS);
			ctx.storage.transactionSync(() => shardMeta(ctx.storage.sql));
		});
	}

	private get identity(): { deployment: string; shard: number } {
		const parsed = parseShardName(this.ctx.id.name ?? "");
		if (!parsed) throw new Error("an ingest shard must be reached by its name, <deployment>:<i>");
		return parsed;
	}

	/** Applies isolates' batches, each once per id. */
	async ingest(batches: ShardBatch[]): Promise<IngestAck> {
		const { shard } = this.identity;
		const settings = settingsOf(this.env);
		const sql = this.ctx.storage.sql;
		const now = Date.now();
		let duplicates = 0;
		let forwarded = 0;
		const verdicts: FeedbackVerdicts = { added: 0, duplicate: 0, limited: 0, refused: 0 };
		for (const batch of batches) {
			const budget = this.budget(batch.shards);
			const outcome = this.ctx.storage.transactionSync(() => {
				const applied = applyBatch(sql, batch, shard, budget);
				if (batch.samples.length > 0) capSamples(sql, settings.SHADOW_SAMPLE_LIMIT);
				return applied;
			});
			this.#seen = budget.seen;
			if (outcome.duplicate) duplicates += 1;
			forwarded += outcome.forwarded;
			addVerdicts(verdicts, outcome.verdicts);
		}
		if (verdicts.refused > 0) this.#full.set(shard, now + FULL_TTL_MS);
		if (forwarded > 0 && !this.#forwardScheduled) {
			await this.schedule("forward", now + settings.INGEST_FORWARD_MS);
			this.#forwardScheduled = true;
		}
		await this.ensureRetention(now);
		if (verdicts.refused > 0) log("feedback_refused_full", this.ctx.id.name, verdicts.refused);
		return { duplicates, full: this.knownFull(now) };
	}

	/** Feedback a sibling received for this shard's units; applied once per request id. */
	async forward(items: FeedbackItem[], shards: number): Promise<{ full: boolean }> {
		const sql = this.ctx.storage.sql;
		const budget = this.budget(shards);
		const verdicts = this.ctx.storage.transactionSync(() =>
			applyFeedback(sql, shardMeta(sql).generation, items, budget),
		);
		this.#seen = budget.seen;
		const now = Date.now();
		if (verdicts.refused > 0) {
			this.#full.set(this.identity.shard, now + FULL_TTL_MS);
			log("feedback_refused_full", this.ctx.id.name, verdicts.refused);
		}
		await this.ensureRetention(now);
		return { full: budget.seen >= budget.limit };
	}

	/** The deployment object's pull: generations after its cursor, merged (see ingest/merge.ts). */
	pull(cursor: ShardCursor): PullResult {
		return this.ctx.storage.transactionSync(() => pull(this.ctx.storage.sql, cursor));
	}

	/** Hands queued feedback on, then retention; whatever fails is retried, and the alarm re-armed. */
	override async alarm(): Promise<void> {
		this.#armedFor = null;
		const now = Date.now();
		const sql = this.ctx.storage.sql;
		const forwardDue = jobDue(sql, "forward");
		if (forwardDue !== null && forwardDue <= now) {
			try {
				await this.handOn();
			} catch (error) {
				log("forward_failed", this.ctx.id.name, String(error));
				scheduleJob(sql, "forward", now + FORWARD_BACKOFF_MAX_MS);
			}
		}
		const retentionDue = jobDue(sql, "retention");
		if (retentionDue !== null && retentionDue <= now) {
			try {
				this.retain(now);
			} catch (error) {
				log("retention_failed", this.ctx.id.name, String(error));
				scheduleJob(sql, "retention", now + RETENTION_RETRY_MS);
			}
		}
		const next = nextJob(sql);
		if (next === null) await this.ctx.storage.deleteAlarm();
		else {
			await this.ctx.storage.setAlarm(next);
			this.#armedFor = next;
		}
	}

	/** One call per target with everything queued for it; a failed target backs off and keeps its rows. */
	private async handOn(): Promise<void> {
		const sql = this.ctx.storage.sql;
		const { deployment } = this.identity;
		const { upTo, byTarget } = queuedForwards(sql, FORWARD_ROWS_PER_RUN);
		let failed = false;
		await Promise.all(
			[...byTarget].map(async ([target, handOff]) => {
				try {
					const answer = await this.env.INGEST.getByName(shardName(deployment, target)).forward(
						handOff.items,
						handOff.shards,
					);
					this.ctx.storage.transactionSync(() => dropForwards(sql, target, upTo));
					if (answer.full) this.#full.set(target, Date.now() + FULL_TTL_MS);
				} catch (error) {
					failed = true;
					log("forward_failed", `${this.ctx.id.name} -> ${target}`, String(error));
				}
			}),
		);
		this.#forwardFailures = failed ? this.#forwardFailures + 1 : 0;
		const interval = settingsOf(this.env).INGEST_FORWARD_MS;
		const delay = failed
			? Math.min(
					FORWARD_BACKOFF_MAX_MS,
					Math.max(interval, FORWARD_BACKOFF_MIN_MS) * 2 ** (this.#forwardFailures - 1),
				)
			: interval;
		this.#forwardScheduled = hasForwards(sql);
		if (this.#forwardScheduled) scheduleJob(sql, "forward", Date.now() + delay);
		else clearJob(sql, "forward");
	}

	private retain(now: number): void {
		const sql = this.ctx.storage.sql;
		const settings = settingsOf(this.env);
		this.ctx.storage.transactionSync(() => {
			pruneShard(sql, {
				batchesBefore: now - BATCH_ID_TTL_MS,
				seenBefore: now - settings.FEEDBACK_WINDOW_DAYS * DAY_MS,
				minuteBefore: Math.floor((now - settings.METRICS_RETENTION_DAYS * DAY_MS) / MINUTE_MS),
			});
		});
		this.#seen = undefined;
		if (shardHasData(sql)) scheduleJob(sql, "retention", now + RETENTION_INTERVAL_MS);
		else {
			clearJob(sql, "retention");
			this.#retentionScheduled = false;
		}
	}

	/** The de-duplication budget of this shard: FEEDBACK_SEEN_LIMIT split over the shards. */
	private budget(shards: number): SeenBudget {
		this.#seen ??= seenCount(this.ctx.storage.sql);
		const limit = Math.ceil(settingsOf(this.env).FEEDBACK_SEEN_LIMIT / Math.max(1, shards));
		return { seen: this.#seen, limit };
	}

	private knownFull(now: number): number[] {
		const full: number[] = [];
		for (const [shard, until] of this.#full) {
			if (until > now) full.push(shard);
			else this.#full.delete(shard);
		}
		return full.sort((a, b) => a - b);
	}

	/** Schedules a job no later than `due` and makes sure the alarm fires by then. */
	private async schedule(job: "forward" | "retention", due: number): Promise<void> {
		const sql = this.ctx.storage.sql;
		scheduleJob(sql, job, due, true);
		const at = jobDue(sql, job) ?? due;
		if (this.#armedFor !== null && this.#armedFor <= at) return;
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > at) await this.ctx.storage.setAlarm(at);
		this.#armedFor = Math.min(current ?? at, at);
	}

	private async ensureRetention(now: number): Promise<void> {
		if (this.#retentionScheduled) return;
		await this.schedule("retention", now + RETENTION_INTERVAL_MS);
		this.#retentionScheduled = true;
	}
}

function addVerdicts(into: FeedbackVerdicts, add: FeedbackVerdicts): void {
	into.added += add.added;
	into.duplicate += add.duplicate;
	into.limited += add.limited;
	into.refused += add.refused;
}

function log(event: string, shard: string | undefined, detail: unknown): void {
	console.error(JSON.stringify({ level: "error", event, shard, detail }));
}
