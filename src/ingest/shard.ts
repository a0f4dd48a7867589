/**
 * IngestShard: one of a deployment's N ingest objects (named
 * `<deployment>:<i>`, binding INGEST). Isolates flush their batches here
 * instead of to the deployment object, so no single object takes every
 * isolate's flushes and every feedback value. A thin shell over
 * ingest/tables.ts:
 *
 * - `ingest(batches)`: applies each batch once per id (rows and samples into
 *   the open generation, this shard's units' feedback into its
 *   de-duplication set, other shards' feedback into the hand-off queue).
 * - `forward(items)`: feedback a sibling received for this shard's units;
 *   applied once per request id (a repeated hand-off is a duplicate).
 * - The alarm runs three jobs: hand-offs (one call per target per
 *   INGEST_FORWARD_MS, 1 s), the push of closed generations to the
 *   deployment object (every INGEST_PUSH_MS, 10 s, while there is data; see
 *   ingest/merge.ts) and retention (batch ids after an hour, de-duplication
 *   keys after the feedback window, minutes never pushed after the retention
 *   days). Failures are logged and retried with backoff; the alarm is
 *   re-armed for the earliest job whatever fails.
 *
 * Storage caps hold at write time, each the deployment's cap split over its
 * shards: shadow samples (SHADOW_SAMPLE_LIMIT) and the de-duplication set
 * (FEEDBACK_SEEN_LIMIT; beyond it feedback is refused, logged and reported to
 * isolates, which answer 503 `feedback_capacity` for a minute).
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../config/settings";
import { migrate } from "../deployment/sql-migrations";
import { logError } from "../lib/log";
import { MINUTE_MS } from "../metrics/minutes";
import {
	type FeedbackItem,
	type IngestAck,
	parseShardName,
	type ShardBatch,
	type ShardCursor,
	type ShardPush,
	shardName,
} from "./protocol";
import {
	applyBatch,
	applyFeedback,
	capSamples,
	clearJob,
	confirmPush,
	dropForwards,
	type FeedbackVerdicts,
	hasForwards,
	hasPending,
	jobDue,
	nextJob,
	nextPush,
	pruneShard,
	pull,
	queuedForwards,
	type SeenBudget,
	SHARD_MIGRATIONS,
	type ShardJob,
	scheduleJob,
	seenCount,
	shardHasData,
	shardMeta,
} from "./tables";

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/** Hand-off queue rows sent per alarm run (each row is one batch's values for one target). */
const FORWARD_ROWS_PER_RUN = 2000;
/** Pushes per alarm run: a refused push (a lost answer) is followed at once by the rest. */
const PUSHES_PER_RUN = 3;
const RETENTION_INTERVAL_MS = 10 * 60 * 1000;
const RETENTION_RETRY_MS = 5 * 60 * 1000;
/** When expired keys are left after a run (see SEEN_DELETE_CHUNK): the next one soon after. */
const RETENTION_CONTINUE_MS = 1000;
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
	/** Jobs this instance knows are scheduled (so a busy shard does not rewrite them per batch). */
	readonly #scheduled = new Set<ShardJob>();
	/** The alarm time this instance set. */
	#armedFor: number | null = null;
	readonly #failures = new Map<ShardJob, number>();

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
				// The deployment's sample cap, split over its shards like the de-duplication set.
				if (batch.samples.length > 0)
					capSamples(sql, Math.ceil(settings.SHADOW_SAMPLE_LIMIT / Math.max(1, batch.shards)));
				return applied;
			});
			this.#seen = budget.seen;
			if (outcome.duplicate) duplicates += 1;
			forwarded += outcome.forwarded;
			addVerdicts(verdicts, outcome.verdicts);
		}
		if (verdicts.refused > 0) {
			this.#full.set(shard, now + FULL_TTL_MS);
			logError("feedback_refused_full", { ...about(this.ctx.id.name), detail: verdicts.refused });
		}
		if (forwarded > 0) await this.schedule("forward", now + settings.INGEST_FORWARD_MS);
		await this.afterWrite(now);
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
			logError("feedback_refused_full", { ...about(this.ctx.id.name), detail: verdicts.refused });
		}
		if (verdicts.added > 0) await this.afterWrite(now);
		return { full: budget.seen >= budget.limit };
	}

	/**
	 * Closes the open generation and returns everything after `cursor`
	 * merged: what a push sends. For tests and tools; the object never waits
	 * on it.
	 */
	pull(cursor: ShardCursor): ShardPush {
		return this.ctx.storage.transactionSync(() => pull(this.ctx.storage.sql, cursor));
	}

	/** Hand-offs, the push and retention, each when due; the alarm is re-armed whatever fails. */
	override async alarm(): Promise<void> {
		this.#armedFor = null;
		const sql = this.ctx.storage.sql;
		const now = Date.now();
		const due = (job: ShardJob) => {
			const at = jobDue(sql, job);
			return at !== null && at <= now;
		};
		if (due("forward")) await this.run("forward", () => this.handOn());
		if (due("push")) await this.run("push", () => this.push());
		if (due("retention")) {
			try {
				this.retain(now);
			} catch (error) {
				logError("retention_failed", { ...about(this.ctx.id.name), detail: String(error) });
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

	/**
	 * Runs a job that reschedules itself when more is left (returns true);
	 * on failure it is retried with backoff (1 s doubling to a minute).
	 */
	private async run(job: "forward" | "push", work: () => Promise<boolean>): Promise<void> {
		const sql = this.ctx.storage.sql;
		const settings = settingsOf(this.env);
		const interval = job === "forward" ? settings.INGEST_FORWARD_MS : settings.INGEST_PUSH_MS;
		let more: boolean;
		try {
			more = await work();
			this.#failures.delete(job);
		} catch (error) {
			const failures = (this.#failures.get(job) ?? 0) + 1;
			this.#failures.set(job, failures);
			logError(`${job}_failed`, { ...about(this.ctx.id.name), detail: String(error) });
			const backoff = Math.min(
				BACKOFF_MAX_MS,
				Math.max(interval, BACKOFF_MIN_MS) * 2 ** (failures - 1),
			);
			scheduleJob(sql, job, Date.now() + backoff);
			this.#scheduled.add(job);
			return;
		}
		if (more) {
			scheduleJob(sql, job, Date.now() + interval);
			this.#scheduled.add(job);
		} else {
			clearJob(sql, job);
			this.#scheduled.delete(job);
		}
	}

	/** One call per target with everything queued for it; a failed target keeps its rows. */
	private async handOn(): Promise<boolean> {
		const sql = this.ctx.storage.sql;
		const { deployment } = this.identity;
		const { upTo, byTarget } = queuedForwards(sql, FORWARD_ROWS_PER_RUN);
		const failures: string[] = [];
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
					failures.push(`${target}: ${String(error)}`);
				}
			}),
		);
		if (failures.length > 0) throw new Error(`hand-off failed to ${failures.join("; ")}`);
		return hasForwards(sql);
	}

	/**
	 * Pushes the closed generations to the deployment object and adopts its
	 * cursor; a refused push (its cursor was elsewhere: an earlier answer was
	 * lost) is followed by the rest at once. Returns whether data is left.
	 */
	private async push(): Promise<boolean> {
		const sql = this.ctx.storage.sql;
		const { deployment, shard } = this.identity;
		const object = this.env.DEPLOYMENT.getByName(deployment);
		for (let round = 0; round < PUSHES_PER_RUN; round++) {
			const payload = this.ctx.storage.transactionSync(() => nextPush(sql));
			if (payload.to === payload.from) break;
			const cursor = await object.stage(shard, payload);
			this.ctx.storage.transactionSync(() => confirmPush(sql, cursor));
			if (cursor.incarnation === payload.incarnation && cursor.generation === payload.to) break;
		}
		return this.ctx.storage.transactionSync(() => hasPending(sql));
	}

	private retain(now: number): void {
		const sql = this.ctx.storage.sql;
		const settings = settingsOf(this.env);
		const pruned = this.ctx.storage.transactionSync(() =>
			pruneShard(sql, {
				batchesBefore: now - BATCH_ID_TTL_MS,
				seenBefore: now - settings.FEEDBACK_WINDOW_DAYS * DAY_MS,
				minuteBefore: Math.floor((now - settings.METRICS_RETENTION_DAYS * DAY_MS) / MINUTE_MS),
			}),
		);
		// The count is kept, not recounted: a COUNT over millions of keys would block the shard.
		if (this.#seen !== undefined) this.#seen = Math.max(0, this.#seen - pruned.seen);
		if (pruned.more) scheduleJob(sql, "retention", now + RETENTION_CONTINUE_MS);
		else if (shardHasData(sql)) scheduleJob(sql, "retention", now + RETENTION_INTERVAL_MS);
		else {
			clearJob(sql, "retention");
			this.#scheduled.delete("retention");
		}
	}

	/** After data was written: a push within INGEST_PUSH_MS, retention within the hour. */
	private async afterWrite(now: number): Promise<void> {
		await this.schedule("push", now + settingsOf(this.env).INGEST_PUSH_MS);
		await this.schedule("retention", now + RETENTION_INTERVAL_MS);
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

	/**
	 * Schedules a job no later than `due` (once per instance while it stays
	 * scheduled) and makes sure the alarm fires by then.
	 */
	private async schedule(job: ShardJob, due: number): Promise<void> {
		if (this.#scheduled.has(job)) return;
		const sql = this.ctx.storage.sql;
		scheduleJob(sql, job, due, true);
		this.#scheduled.add(job);
		const at = jobDue(sql, job) ?? due;
		if (this.#armedFor !== null && this.#armedFor <= at) return;
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > at) await this.ctx.storage.setAlarm(at);
		this.#armedFor = Math.min(current ?? at, at);
	}
}

function addVerdicts(into: FeedbackVerdicts, add: FeedbackVerdicts): void {
	into.added += add.added;
	into.duplicate += add.duplicate;
	into.limited += add.limited;
	into.refused += add.refused;
}

/** What a shard's log events say about it: its deployment and its name. */
function about(shard: string | undefined): { deployment?: string; shard?: string } {
	return { deployment: parseShardName(shard ?? "")?.deployment, shard };
}
