/**
 * The request path's recorder: a bounded per-isolate buffer per deployment
 * ({@link IngestBuffer}), flushed to one of the deployment's ingest shards in
 * one RPC when it holds METRICS_BATCH_SIZE items (observations and feedback
 * values) or its oldest is METRICS_FLUSH_MS old (a timer in ctx.waitUntil
 * makes sure the last batch goes out even if traffic stops). Nothing here is
 * awaited by the request, and nothing throws into it.
 *
 * Loss bound: an isolate evicted before its flush loses at most the last
 * METRICS_FLUSH_MS (default 5 s) or METRICS_BATCH_SIZE items per deployment.
 * Exactly once: every flushed batch has a unique id and is retried as it was
 * (same id, same shard), up to 3 attempts within 30 minutes, then dropped and
 * counted; the shard applies an id once, so a retry whose first answer was
 * lost never counts twice. The buffer holds one open batch and at most a few
 * failed ones per deployment, each bounded by minutes × variants and
 * METRICS_BATCH_SIZE feedback values, not by traffic.
 */
import { settingsOf } from "../config/settings";
import { DEFAULT_SHARDS } from "../config/shards";
import {
	batchId,
	type FeedbackItem,
	type IngestAck,
	type ShardBatch,
	shardName,
	shardOfFlush,
} from "../ingest/protocol";
import { logError } from "../lib/log";
import { PendingBatch } from "./batch";
import { type FlushLimits, flushDue } from "./flush-rule";
import type { Observation, Recorder, ShadowComparison } from "./observation";

const MAX_ATTEMPTS = 3;
const SAMPLES_PER_BATCH = 20;
/** A failed batch is not retried after this long (shards remember batch ids for an hour). */
const MAX_RETAIN_MS = 30 * 60 * 1000;
/** How long a shard reported full is believed full (feedback for it is refused at once). */
const FULL_TTL_MS = 60 * 1000;

/** Where a buffer sends batches and how it waits; the worker's is bound to env and ctx. */
export interface IngestHost {
	limits: FlushLimits;
	send(deployment: string, shard: number, batches: ShardBatch[]): Promise<IngestAck>;
	/** Runs `task` after `ms`, in the background (a timer). */
	later(ms: number, task: () => Promise<void>): void;
	/** Keeps work started now alive in the background (ctx.waitUntil). */
	keep(work: Promise<void>): void;
}

export interface RecorderStats {
	/** Successful flush calls. */
	flushes: number;
	flushFailures: number;
	droppedObservations: number;
	droppedFeedback: number;
	/** Batches a shard had already applied when their retry arrived (counted once). */
	duplicateBatches: number;
	/** Feedback values queued for a shard. */
	feedbackQueued: number;
}

interface Retained {
	batch: ShardBatch;
	shard: number;
	attempts: number;
	firstSentAt: number;
}

export interface BufferOptions {
	now?: () => number;
	/** A unique id for this buffer (isolate); random by default. */
	id?: string;
	/** Uniform in [0, 1): the first shard of each deployment's round robin. */
	random?: () => number;
}

/**
 * One isolate's pending metrics and feedback for every deployment it serves.
 * Platform-free: the host sends and schedules, so tests and the load test can
 * run many buffers against local shards.
 */
export class IngestBuffer {
	readonly stats: RecorderStats = {
		flushes: 0,
		flushFailures: 0,
		droppedObservations: 0,
		droppedFeedback: 0,
		duplicateBatches: 0,
		feedbackQueued: 0,
	};
	readonly #pending = new Map<string, PendingBatch>();
	readonly #retained = new Map<string, Retained[]>();
	readonly #retryArmed = new Set<string>();
	readonly #turns = new Map<string, { start: number; turn: number }>();
	readonly #full = new Map<string, number>();
	readonly #now: () => number;
	readonly #random: () => number;
	#id: string | undefined;
	#sequence = 0;
	#inFlight = 0;

	constructor(options: BufferOptions = {}) {
		this.#now = options.now ?? Date.now;
		this.#random = options.random ?? Math.random;
		this.#id = options.id;
	}

	observe(host: IngestHost, observation: Observation, shards: number): void {
		this.#add(host, observation.deployment, shards, (batch) => batch.addObservation(observation));
	}

	compare(host: IngestHost, comparison: ShadowComparison, shards: number): void {
		this.#add(host, comparison.deployment, shards, (batch) => batch.addComparison(comparison));
	}

	/** A batch keeps its first SAMPLES_PER_BATCH samples: later comparisons need no sample. */
	wantsSample(deployment: string): boolean {
		const batch = this.#pending.get(deployment);
		return batch === undefined || batch.samples.length < SAMPLES_PER_BATCH;
	}

	/**
	 * Queues a validated feedback value; "full" (nothing queued) when its
	 * shard said lately that its de-duplication set is full.
	 */
	feedback(
		host: IngestHost,
		deployment: string,
		shards: number,
		item: FeedbackItem,
	): "queued" | "full" {
		const until = this.#full.get(`${deployment}#${item.shard}`);
		if (until !== undefined && until > this.#now()) return "full";
		this.#add(host, deployment, shards, (batch) => batch.addFeedback(item));
		this.stats.feedbackQueued += 1;
		return "queued";
	}

	/** Nothing pending, waiting for a retry or in flight: everything recorded has been answered. */
	idle(): boolean {
		return this.#pending.size === 0 && this.#retained.size === 0 && this.#inFlight === 0;
	}

	#add(host: IngestHost, deployment: string, shards: number, add: (batch: PendingBatch) => void) {
		const now = this.#now();
		let batch = this.#pending.get(deployment);
		if (!batch) {
			batch = new PendingBatch(now, SAMPLES_PER_BATCH, shards);
			this.#pending.set(deployment, batch);
		}
		batch.shards = shards;
		add(batch);
		const age = now - batch.firstAt;
		if (flushDue(batch.items, age, host.limits)) {
			// flush() takes the batch before its first await: the next item opens a new one.
			host.keep(this.flush(host, deployment));
		} else if (!batch.timerArmed) {
			batch.timerArmed = true;
			const armed = batch;
			// The timer flushes this batch only: a newer one has its own.
			host.later(host.limits.flushMs - age, async () => {
				if (this.#pending.get(deployment) === armed) await this.flush(host, deployment);
			});
		}
	}

	/**
	 * Sends the deployment's open batch and the failed ones waiting for a
	 * retry (each to the shard it first went to; the open one joins them, or
	 * goes to the next shard in turn). Never throws.
	 */
	async flush(host: IngestHost, deployment: string): Promise<void> {
		const now = this.#now();
		const open = this.#pending.get(deployment);
		this.#pending.delete(deployment);
		const retained = this.#retained.get(deployment) ?? [];
		this.#retained.delete(deployment);
		const groups = new Map<number, Retained[]>();
		for (const entry of retained) {
			if (now - entry.firstSentAt > MAX_RETAIN_MS) {
				this.#drop(entry);
				continue;
			}
			groups.set(entry.shard, [...(groups.get(entry.shard) ?? []), entry]);
		}
		if (open && open.items + open.samples.length > 0) {
			const shard = groups.keys().next().value ?? this.#nextShard(deployment, open.shards);
			const batch = open.toShardBatch(this.#nextId());
			groups.set(shard, [
				...(groups.get(shard) ?? []),
				{ batch, shard, attempts: 0, firstSentAt: now },
			]);
		}
		this.#inFlight += 1;
		try {
			await Promise.all(
				[...groups].map(([shard, entries]) => this.#send(host, deployment, shard, entries)),
			);
		} finally {
			this.#inFlight -= 1;
		}
	}

	async #send(host: IngestHost, deployment: string, shard: number, entries: Retained[]) {
		try {
			const ack = await host.send(
				deployment,
				shard,
				entries.map((e) => e.batch),
			);
			this.stats.flushes += 1;
			this.stats.duplicateBatches += ack.duplicates;
			const until = this.#now() + FULL_TTL_MS;
			for (const full of ack.full) this.#full.set(`${deployment}#${full}`, until);
		} catch (error) {
			this.stats.flushFailures += 1;
			const keep: Retained[] = [];
			for (const entry of entries) {
				entry.attempts += 1;
				if (entry.attempts < MAX_ATTEMPTS) keep.push(entry);
				else this.#drop(entry);
			}
			if (keep.length > 0) {
				this.#retained.set(deployment, [...(this.#retained.get(deployment) ?? []), ...keep]);
				this.#armRetry(host, deployment);
			}
			logError("metrics_flush_failed", {
				deployment,
				shard,
				batches: entries.length,
				action: keep.length > 0 ? "kept for a retry" : "dropped",
				message: String(error),
			});
		}
	}

	#armRetry(host: IngestHost, deployment: string): void {
		if (this.#retryArmed.has(deployment)) return;
		this.#retryArmed.add(deployment);
		host.later(host.limits.flushMs, async () => {
			this.#retryArmed.delete(deployment);
			if (this.#retained.has(deployment)) await this.flush(host, deployment);
		});
	}

	#drop(entry: Retained): void {
		this.stats.droppedObservations += entry.batch.observations;
		this.stats.droppedFeedback += entry.batch.feedback.length;
	}

	#nextShard(deployment: string, shards: number): number {
		let turns = this.#turns.get(deployment);
		if (!turns) {
			turns = { start: Math.floor(this.#random() * 64), turn: 0 };
			this.#turns.set(deployment, turns);
		}
		return shardOfFlush(turns.start, turns.turn++, shards);
	}

	#nextId(): string {
		// Random values are only allowed inside a request, not at module load: made on first use.
		this.#id ??= crypto.randomUUID();
		this.#sequence += 1;
		return batchId(this.#now(), this.#id, this.#sequence);
	}
}

/** This isolate's buffer (the one deliberate piece of module state: see STYLE.md). */
const buffer = new IngestBuffer();

/** Per-isolate counters, shown behind admin auth at GET /admin/api/isolate. */
export const recorderStats: Readonly<RecorderStats> = buffer.stats;

/** True when this isolate has nothing pending or in flight (tests wait for it). */
export function recorderIdle(): boolean {
	return buffer.idle();
}

/** The worker's host: shards reached through the INGEST binding, timers in ctx.waitUntil. */
export function ingestHost(
	env: Env,
	ctx: { waitUntil(promise: Promise<unknown>): void },
): IngestHost {
	const settings = settingsOf(env);
	return {
		limits: { batchSize: settings.METRICS_BATCH_SIZE, flushMs: settings.METRICS_FLUSH_MS },
		send: (deployment, shard, batches) =>
			env.INGEST.getByName(shardName(deployment, shard)).ingest(batches),
		later: (ms, task) =>
			ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))).then(task)),
		keep: (work) => ctx.waitUntil(work),
	};
}

/** The prediction path's recorder for one request of a deployment with `shards` ingest shards. */
export function recorderFor(
	env: Env,
	ctx: { waitUntil(promise: Promise<unknown>): void },
	shards = DEFAULT_SHARDS,
): Recorder {
	const host = ingestHost(env, ctx);
	return {
		observe: (observation) => buffer.observe(host, observation, shards),
		compare: (comparison) => buffer.compare(host, comparison, shards),
		wantsSample: (deployment) => buffer.wantsSample(deployment),
	};
}

/** Queues one validated feedback value in this isolate's buffer (see IngestBuffer.feedback). */
export function queueFeedback(
	env: Env,
	ctx: { waitUntil(promise: Promise<unknown>): void },
	deployment: string,
	shards: number,
	item: FeedbackItem,
): "queued" | "full" {
	return buffer.feedback(ingestHost(env, ctx), deployment, shards, item);
}
