/**
 * The ingest protocol between isolates, ingest shards and the deployment
 * object, and the shard choice rules. Pure: types and small functions.
 *
 * - An isolate folds observations (and queues validated feedback) per
 *   deployment and flushes them as one {@link ShardBatch} with a unique id to
 *   one shard, the next in turn from a random start, so every shard gets an
 *   even share of every isolate's flushes. A failed batch is retried as it
 *   was (same id, same shard): the shard applies each id once.
 * - Feedback is de-duplicated in the shard of its unit, {@link shardOfUnit}
 *   of the request id's unit tag, so one request id, and one unit's minute in
 *   public mode, always meet the same de-duplication set. The shard a batch
 *   lands on hands the others their feedback in one call per target per
 *   second (durably queued), so no shard sees a call from every isolate.
 * - Each shard pushes its closed generations of per-minute deltas to the
 *   deployment object, which stages them exactly once by a cursor per shard
 *   and folds them into its tables at every look (see ingest/merge.ts).
 */
import { MAX_SHARDS } from "../config/shards";
import type { VariantAggregate } from "../metrics/aggregate";
import type { ObservedVariant, ShadowComparison } from "../metrics/observation";
import type { Moments } from "../stats";

/** An isolate's observations of one (minute, variant, threshold, epoch), folded. */
export interface IngestRow {
	/** Unix minute: floor(ms / 60,000). */
	minute: number;
	variant: ObservedVariant;
	threshold: number;
	/** The rollout (its startedAt, Unix ms) the observations belong to. */
	epoch: number;
	aggregate: VariantAggregate;
}

/** A shadow comparison kept as a sample (the deployment, threshold and epoch are the batch's). */
export type ShadowSample = Omit<ShadowComparison, "deployment" | "threshold" | "epoch">;

/** One feedback value, validated at the edge, on its way to the shard that de-duplicates it. */
export interface FeedbackItem {
	/** The request id's MAC, unique to it: the de-duplication key. */
	key: string;
	/** The variant the request was assigned. */
	variant: "champion" | "candidate";
	/** The champion answered after the candidate failed. */
	fallback: boolean;
	/** Unix ms of the request the value is about. */
	requestTime: number;
	value: number;
	/** The rollout the request belongs to (its startedAt; 0 before any start). */
	epoch: number;
	/** Public feedback: the unit's tag, allowed one value per minute of request. */
	unit?: string;
	/** The shard that de-duplicates it: {@link shardOfUnit} of the request id's unit tag. */
	shard: number;
}

/** An isolate's flush: aggregates, shadow samples and feedback, applied once per `id`. */
export interface ShardBatch {
	/** Unique per batch (isolate id + sequence); a retry carries the same id. */
	id: string;
	/** The deployment's shard count as the isolate saw it (caps are per shard). */
	shards: number;
	rows: IngestRow[];
	samples: ShadowSample[];
	/** Observations folded into the rows. */
	observations: number;
	feedback: FeedbackItem[];
}

export interface IngestAck {
	/** Batches of this call the shard had applied before (a retry whose first answer was lost). */
	duplicates: number;
	/** Shards whose feedback de-duplication set is full, as far as this shard knows. */
	full: number[];
}

/** Feedback moments of one variant for the requests of one minute, and of its fallback subset. */
export interface FeedbackDelta {
	minute: number;
	variant: "champion" | "candidate";
	epoch: number;
	all: Moments;
	fallback: Moments;
}

/** Where the deployment object stands with one shard: the last generation it folded in. */
export interface ShardCursor {
	/** The shard's storage identity; null before the first push. */
	incarnation: string | null;
	generation: number;
}

/**
 * What a shard pushes to the deployment object: everything written in its
 * generations (from, to], merged per key. `from` is the cursor the object
 * last confirmed (0 for an incarnation it never saw); from === to means
 * nothing new.
 */
export interface ShardPush {
	incarnation: string;
	from: number;
	to: number;
	rows: IngestRow[];
	samples: ShadowSample[];
	feedback: FeedbackDelta[];
}

/**
 * A batch id: its creation time (ms, 9 base-36 digits, so ids sort by time),
 * the isolate and a sequence number. Shards forget ids by time prefix.
 */
export function batchId(time: number, isolate: string, sequence: number): string {
	return `${batchIdPrefix(time)}.${isolate}.${sequence}`;
}

/** The prefix of the ids of batches created at `time`; earlier ones sort below it. */
export function batchIdPrefix(time: number): string {
	return Math.max(0, Math.floor(time)).toString(36).padStart(9, "0");
}

/** The Durable Object name of a deployment's shard. */
export function shardName(deployment: string, shard: number): string {
	return `${deployment}:${shard}`;
}

/** The deployment and index a shard's name stands for, or null for anything else. */
export function parseShardName(name: string): { deployment: string; shard: number } | null {
	const match = /^([a-z0-9][a-z0-9-]{0,62}):(\d{1,2})$/.exec(name);
	if (!match) return null;
	const shard = Number(match[2]);
	return shard < MAX_SHARDS ? { deployment: match[1] as string, shard } : null;
}

/**
 * The shard that de-duplicates a unit's feedback: its request-id tag (8 hex
 * digits of a murmur3 hash of the unit) modulo the shard count. Every request
 * id of a unit names the same tag, so a request id's feedback, and a unit's
 * minute in public mode, always reach the same shard.
 */
export function shardOfUnit(unitTag: string, shards: number): number {
	const tag = Number.parseInt(unitTag, 16);
	return Number.isFinite(tag) && shards > 1 ? (tag >>> 0) % shards : 0;
}

/** The shard of an isolate's `turn`-th flush of a deployment: round robin from a random start. */
export function shardOfFlush(start: number, turn: number, shards: number): number {
	return shards > 1 ? (start + turn) % shards : 0;
}
