/**
 * The SQLite tables of an ingest shard. Everything written goes to the open
 * generation: per-minute aggregate deltas (stored as JSON and merged with
 * mergeAggregates, so fields added to the aggregate travel without a schema
 * change), feedback moment deltas and shadow samples. A push sends every
 * generation after the one the deployment object confirmed, merged, closes
 * the open one, and deletes only what the object has confirmed (see
 * ingest/merge.ts for why that is exactly once). Also: the ids of applied batches, the feedback
 * de-duplication set, the queue of feedback handed on to sibling shards and
 * the due times of the alarm's jobs. Functions take the SQL handle.
 */
import type { Migration } from "../deployment/sql-migrations";
import { mergeAggregates, type VariantAggregate } from "../metrics/aggregate";
import type { IngestRow, ShadowSample } from "../metrics/batch";
import type { ObservedVariant } from "../metrics/observation";
import { emptyMoments, type Moments, mergeMoments } from "../stats";
import {
	batchIdPrefix,
	type FeedbackDelta,
	type FeedbackItem,
	type ShardBatch,
	type ShardCursor,
	type ShardPush,
} from "./protocol";

/** Shard schema versions start at 21 (20 is the deployment object's cursor table). */
export const SHARD_MIGRATIONS: Migration[] = [
	{
		// Keyed tables are WITHOUT ROWID: a write is one row written, not two (row and key index).
		version: 21,
		statements: [
			"CREATE TABLE shard_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
			// Batch ids start with their creation time: retention deletes a key range, no scan.
			"CREATE TABLE ingest_batches (id TEXT PRIMARY KEY) WITHOUT ROWID",
			`CREATE TABLE pending_rows (
				generation INTEGER NOT NULL, minute INTEGER NOT NULL, variant TEXT NOT NULL,
				threshold INTEGER NOT NULL, epoch INTEGER NOT NULL, aggregate TEXT NOT NULL,
				PRIMARY KEY (generation, minute, variant, threshold, epoch)) WITHOUT ROWID`,
			`CREATE TABLE pending_feedback (
				generation INTEGER NOT NULL, minute INTEGER NOT NULL, variant TEXT NOT NULL,
				epoch INTEGER NOT NULL, moments TEXT NOT NULL,
				PRIMARY KEY (generation, minute, variant, epoch)) WITHOUT ROWID`,
			`CREATE TABLE pending_samples (
				id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, sample TEXT NOT NULL)`,
			// Keyed by the request's day first: a request id always has the same day, and
			// retention deletes whole days as a key range instead of scanning the set.
			`CREATE TABLE feedback_seen (
				day INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (day, key)) WITHOUT ROWID`,
			`CREATE TABLE forward_queue (
				id INTEGER PRIMARY KEY, target INTEGER NOT NULL, shards INTEGER NOT NULL,
				items TEXT NOT NULL)`,
			"CREATE TABLE shard_jobs (job TEXT PRIMARY KEY, due_at INTEGER NOT NULL) WITHOUT ROWID",
		],
	},
];

type Row = Record<string, SqlStorageValue>;
const DAY_MS = 24 * 60 * 60 * 1000;
const num = (row: Row | undefined, key: string) => Number(row?.[key] ?? 0);
const PENDING_TABLES = ["pending_rows", "pending_feedback", "pending_samples"] as const;

export interface ShardMeta {
	/** Random, made with the shard's storage: a cursor from another incarnation means nothing here. */
	incarnation: string;
	/** The open generation: every write goes to it. */
	generation: number;
	/** The last generation the deployment object confirmed it holds (staged or folded). */
	acked: number;
}

/** The shard's identity, open generation and confirmed cursor, created on first use. */
export function shardMeta(sql: SqlStorage): ShardMeta {
	const rows = new Map(
		sql
			.exec<Row>("SELECT key, value FROM shard_meta")
			.toArray()
			.map((r) => [String(r.key), String(r.value)]),
	);
	const incarnation = rows.get("incarnation");
	const generation = Number(rows.get("generation") ?? Number.NaN);
	const acked = Number(rows.get("acked") ?? 0);
	if (incarnation !== undefined && Number.isInteger(generation))
		return { incarnation, generation, acked };
	const meta = { incarnation: crypto.randomUUID(), generation: 1, acked: 0 };
	setMeta(sql, meta);
	return meta;
}

function setMeta(sql: SqlStorage, meta: ShardMeta): void {
	sql.exec(
		`INSERT OR REPLACE INTO shard_meta (key, value)
		 VALUES ('incarnation', ?), ('generation', ?), ('acked', ?)`,
		meta.incarnation,
		String(meta.generation),
		String(meta.acked),
	);
}

/** The de-duplication set's size and its cap in this shard. */
export interface SeenBudget {
	seen: number;
	limit: number;
}

export interface FeedbackVerdicts {
	added: number;
	duplicate: number;
	/** Public feedback: the unit already sent a value for that minute of request. */
	limited: number;
	/** The de-duplication set was full: not recorded. */
	refused: number;
}

export interface BatchOutcome {
	/** The batch id was applied before: nothing was written. */
	duplicate: boolean;
	/** Feedback values queued for sibling shards. */
	forwarded: number;
	verdicts: FeedbackVerdicts;
}

/**
 * Applies a batch once per id: its rows and samples into the open
 * generation, the feedback of this shard's units into the de-duplication set
 * and the open generation's moments, and the rest into the forward queue (one
 * row per target shard). Run it in one transaction.
 */
export function applyBatch(
	sql: SqlStorage,
	batch: ShardBatch,
	self: number,
	budget: SeenBudget,
): BatchOutcome {
	const verdicts: FeedbackVerdicts = { added: 0, duplicate: 0, limited: 0, refused: 0 };
	const fresh =
		sql.exec("INSERT OR IGNORE INTO ingest_batches (id) VALUES (?)", batch.id).rowsWritten > 0;
	if (!fresh) return { duplicate: true, forwarded: 0, verdicts };
	const { generation } = shardMeta(sql);
	for (const row of batch.rows) addPendingRow(sql, generation, row);
	for (const sample of batch.samples) {
		sql.exec(
			"INSERT INTO pending_samples (generation, sample) VALUES (?, ?)",
			generation,
			JSON.stringify(sample),
		);
	}
	const local: FeedbackItem[] = [];
	const remote = new Map<number, FeedbackItem[]>();
	for (const item of batch.feedback) {
		if (item.shard === self) local.push(item);
		else remote.set(item.shard, [...(remote.get(item.shard) ?? []), item]);
	}
	for (const [target, items] of remote) {
		sql.exec(
			"INSERT INTO forward_queue (target, shards, items) VALUES (?, ?, ?)",
			target,
			batch.shards,
			JSON.stringify(items),
		);
	}
	Object.assign(verdicts, applyFeedback(sql, generation, local, budget));
	return { duplicate: false, forwarded: batch.feedback.length - local.length, verdicts };
}

function addPendingRow(sql: SqlStorage, generation: number, row: IngestRow): void {
	mergeAggregateRow(
		sql,
		"pending_rows",
		{
			generation,
			minute: row.minute,
			variant: row.variant,
			threshold: row.threshold,
			epoch: row.epoch,
		},
		row.aggregate,
	);
}

/**
 * Merges an aggregate into the row of `table` with this key (its columns,
 * in table order, then `aggregate` as JSON), or inserts it.
 */
export function mergeAggregateRow(
	sql: SqlStorage,
	table: "pending_rows" | "staged_rows",
	key: Record<string, SqlStorageValue>,
	aggregate: VariantAggregate,
): void {
	const columns = Object.keys(key);
	const values = Object.values(key);
	const stored = sql
		.exec<Row>(
			`SELECT aggregate FROM ${table} WHERE ${columns.map((c) => `${c} = ?`).join(" AND ")}`,
			...values,
		)
		.toArray()[0];
	const merged = stored
		? mergeAggregates(JSON.parse(String(stored.aggregate)) as VariantAggregate, aggregate)
		: aggregate;
	sql.exec(
		`INSERT OR REPLACE INTO ${table} VALUES (${columns.map(() => "?").join(", ")}, ?)`,
		...values,
		JSON.stringify(merged),
	);
}

/**
 * Records each value once per request id (its MAC) and, for public feedback,
 * once per unit and minute of request; refuses values once the set holds
 * `budget.limit` keys. Added values are folded per (minute, variant, epoch)
 * into the open generation. Updates `budget.seen`.
 */
export function applyFeedback(
	sql: SqlStorage,
	generation: number,
	items: readonly FeedbackItem[],
	budget: SeenBudget,
): FeedbackVerdicts {
	const verdicts: FeedbackVerdicts = { added: 0, duplicate: 0, limited: 0, refused: 0 };
	const seen = (key: string, requestTime: number) =>
		sql.exec(
			"INSERT OR IGNORE INTO feedback_seen (day, key) VALUES (?, ?)",
			Math.floor(requestTime / DAY_MS),
			key,
		).rowsWritten > 0;
	const deltas = new Map<string, FeedbackDelta>();
	for (const item of items) {
		if (budget.seen >= budget.limit) {
			verdicts.refused += 1;
			continue;
		}
		if (!seen(item.key, item.requestTime)) {
			verdicts.duplicate += 1;
			continue;
		}
		budget.seen += 1;
		const minute = Math.floor(item.requestTime / 60_000);
		if (item.unit !== undefined) {
			if (!seen(`unit:${item.unit}:${minute}`, item.requestTime)) {
				verdicts.limited += 1;
				continue;
			}
			budget.seen += 1;
		}
		const key = `${minute}|${item.variant}|${item.epoch}`;
		let delta = deltas.get(key);
		if (!delta) {
			delta = {
				minute,
				variant: item.variant,
				epoch: item.epoch,
				all: emptyMoments(),
				fallback: emptyMoments(),
			};
			deltas.set(key, delta);
		}
		const one: Moments = { n: 1, mean: item.value, m2: 0 };
		delta.all = mergeMoments(delta.all, one);
		if (item.fallback) delta.fallback = mergeMoments(delta.fallback, one);
		verdicts.added += 1;
	}
	for (const delta of deltas.values()) {
		const key = [generation, delta.minute, delta.variant, delta.epoch] as const;
		const stored = sql
			.exec<Row>(
				"SELECT moments FROM pending_feedback WHERE generation = ? AND minute = ? AND variant = ? AND epoch = ?",
				...key,
			)
			.toArray()[0];
		const merged = stored ? mergeDelta(parseMoments(stored), delta) : delta;
		sql.exec(
			"INSERT OR REPLACE INTO pending_feedback VALUES (?, ?, ?, ?, ?)",
			...key,
			JSON.stringify({ all: merged.all, fallback: merged.fallback }),
		);
	}
	return verdicts;
}

function parseMoments(row: Row): { all: Moments; fallback: Moments } {
	return JSON.parse(String(row.moments)) as { all: Moments; fallback: Moments };
}

function mergeDelta(
	stored: { all: Moments; fallback: Moments },
	delta: FeedbackDelta,
): FeedbackDelta {
	return {
		...delta,
		all: mergeMoments(stored.all, delta.all),
		fallback: mergeMoments(stored.fallback, delta.fallback),
	};
}

/** Rows in the de-duplication set. */
export function seenCount(sql: SqlStorage): number {
	return num(sql.exec<Row>("SELECT COUNT(*) AS n FROM feedback_seen").one(), "n");
}

/** Keeps only the newest `limit` pending shadow samples (at write time). */
export function capSamples(sql: SqlStorage, limit: number): void {
	sql.exec(
		"DELETE FROM pending_samples WHERE id <= (SELECT MAX(id) FROM pending_samples) - ?",
		limit,
	);
}

/**
 * Closes the open generation and returns every generation after `cursor`
 * merged per key (the push's payload; also what a reader with a cursor gets).
 * It first deletes the generations the cursor says the object holds: nothing
 * is returned twice to a reader that advances its cursor, and nothing is
 * deleted before the object has it. A cursor of another incarnation counts
 * as 0. Run it in one transaction.
 */
export function pull(sql: SqlStorage, cursor: ShardCursor): ShardPush {
	const meta = shardMeta(sql);
	const from = cursor.incarnation === meta.incarnation ? cursor.generation : 0;
	for (const table of PENDING_TABLES) sql.exec(`DELETE FROM ${table} WHERE generation <= ?`, from);
	const empty: ShardPush = {
		incarnation: meta.incarnation,
		from,
		to: from,
		rows: [],
		samples: [],
		feedback: [],
	};
	if (!hasPending(sql)) return empty;
	const rows = new Map<string, IngestRow>();
	for (const row of sql.exec<Row>("SELECT * FROM pending_rows ORDER BY generation")) {
		const key = `${row.minute}|${row.variant}|${row.threshold}|${row.epoch}`;
		const aggregate = JSON.parse(String(row.aggregate)) as VariantAggregate;
		const existing = rows.get(key);
		rows.set(key, {
			minute: num(row, "minute"),
			variant: String(row.variant) as ObservedVariant,
			threshold: num(row, "threshold"),
			epoch: num(row, "epoch"),
			aggregate: existing ? mergeAggregates(existing.aggregate, aggregate) : aggregate,
		});
	}
	const feedback = new Map<string, FeedbackDelta>();
	for (const row of sql.exec<Row>("SELECT * FROM pending_feedback ORDER BY generation")) {
		const key = `${row.minute}|${row.variant}|${row.epoch}`;
		const delta: FeedbackDelta = {
			minute: num(row, "minute"),
			variant: row.variant === "candidate" ? "candidate" : "champion",
			epoch: num(row, "epoch"),
			...parseMoments(row),
		};
		const existing = feedback.get(key);
		feedback.set(key, existing ? mergeDelta(existing, delta) : delta);
	}
	const samples = sql
		.exec<Row>("SELECT sample FROM pending_samples ORDER BY id")
		.toArray()
		.map((row) => JSON.parse(String(row.sample)) as ShadowSample);
	setMeta(sql, { ...meta, generation: meta.generation + 1 });
	return {
		...empty,
		to: meta.generation,
		rows: [...rows.values()],
		samples,
		feedback: [...feedback.values()],
	};
}

/** True when some generation still holds data the object has not confirmed. */
export function hasPending(sql: SqlStorage): boolean {
	return (
		num(
			sql
				.exec<Row>(
					`SELECT EXISTS (SELECT 1 FROM pending_rows) OR EXISTS (SELECT 1 FROM pending_feedback)
					 OR EXISTS (SELECT 1 FROM pending_samples) AS n`,
				)
				.one(),
			"n",
		) > 0
	);
}

/** The next push: every generation after the one the object last confirmed. */
export function nextPush(sql: SqlStorage): ShardPush {
	const meta = shardMeta(sql);
	return pull(sql, { incarnation: meta.incarnation, generation: meta.acked });
}

/**
 * Adopts the object's answer to a push: its cursor for this shard. Of this
 * incarnation, it is what the object holds (the generations up to it are
 * deleted); of another (the object never saw this incarnation), the next
 * push starts at 0.
 */
export function confirmPush(sql: SqlStorage, cursor: ShardCursor): void {
	const meta = shardMeta(sql);
	const acked =
		cursor.incarnation === meta.incarnation
			? Math.min(Math.max(meta.acked, cursor.generation), meta.generation - 1)
			: 0;
	for (const table of PENDING_TABLES) sql.exec(`DELETE FROM ${table} WHERE generation <= ?`, acked);
	setMeta(sql, { ...meta, acked });
}

/** Feedback waiting for one sibling shard, and the deployment's shard count it was sent with. */
export interface HandOff {
	items: FeedbackItem[];
	shards: number;
}

/** Queued hand-offs, oldest first, grouped by target, up to `limit` queue rows. */
export function queuedForwards(
	sql: SqlStorage,
	limit: number,
): { upTo: number; byTarget: Map<number, HandOff> } {
	const byTarget = new Map<number, HandOff>();
	let upTo = 0;
	for (const row of sql.exec<Row>(
		"SELECT id, target, shards, items FROM forward_queue ORDER BY id LIMIT ?",
		limit,
	)) {
		const target = num(row, "target");
		const handOff = byTarget.get(target) ?? { items: [], shards: 1 };
		handOff.items.push(...(JSON.parse(String(row.items)) as FeedbackItem[]));
		handOff.shards = Math.max(handOff.shards, num(row, "shards"));
		byTarget.set(target, handOff);
		upTo = num(row, "id");
	}
	return { upTo, byTarget };
}

/** Deletes the hand-offs to `target` up to queue row `upTo` (delivered). */
export function dropForwards(sql: SqlStorage, target: number, upTo: number): void {
	sql.exec("DELETE FROM forward_queue WHERE target = ? AND id <= ?", target, upTo);
}

export function hasForwards(sql: SqlStorage): boolean {
	return sql.exec<Row>("SELECT id FROM forward_queue LIMIT 1").toArray().length > 0;
}

export interface ShardRetention {
	/** Batch ids created before this time are forgotten (retries come within minutes). */
	batchesBefore: number;
	/** De-duplication keys of requests older than this (past the feedback window) go, by whole days. */
	seenBefore: number;
	/** Pending minutes older than this were never pulled (a deleted deployment): they go. */
	minuteBefore: number;
	/** De-duplication keys deleted per run at most (default {@link SEEN_DELETE_CHUNK}). */
	seenChunk?: number;
}

/**
 * De-duplication keys deleted per retention run at most: a day of keys at
 * high traffic is millions of rows, too many for one transaction; the rest
 * goes in the next runs, moments apart.
 */
export const SEEN_DELETE_CHUNK = 100_000;

export interface Pruned {
	/** Rows deleted, of every table. */
	rows: number;
	/** De-duplication keys among them. */
	seen: number;
	/** True when expired de-duplication keys are left for another run. */
	more: boolean;
}

/** Deletes what the shard no longer needs. */
export function pruneShard(sql: SqlStorage, policy: ShardRetention): Pruned {
	let rows = sql.exec(
		"DELETE FROM ingest_batches WHERE id < ?",
		batchIdPrefix(policy.batchesBefore),
	).rowsWritten;
	const day = Math.floor(policy.seenBefore / DAY_MS);
	const chunk = policy.seenChunk ?? SEEN_DELETE_CHUNK;
	const seen = sql.exec(
		`DELETE FROM feedback_seen WHERE (day, key) IN
		 (SELECT day, key FROM feedback_seen WHERE day < ? ORDER BY day, key LIMIT ?)`,
		day,
		chunk,
	).rowsWritten;
	rows += seen;
	for (const table of ["pending_rows", "pending_feedback"]) {
		rows += sql.exec(`DELETE FROM ${table} WHERE minute < ?`, policy.minuteBefore).rowsWritten;
	}
	return { rows, seen, more: seen >= chunk };
}

/** True while the shard holds anything retention must look after. */
export function shardHasData(sql: SqlStorage): boolean {
	const row = sql
		.exec<Row>(
			`SELECT EXISTS (SELECT 1 FROM ingest_batches) OR EXISTS (SELECT 1 FROM feedback_seen)
			 OR EXISTS (SELECT 1 FROM pending_rows) OR EXISTS (SELECT 1 FROM pending_feedback)
			 OR EXISTS (SELECT 1 FROM forward_queue) AS n`,
		)
		.one();
	return num(row, "n") > 0;
}

export type ShardJob = "forward" | "push" | "retention";

export function jobDue(sql: SqlStorage, job: ShardJob): number | null {
	const row = sql.exec<Row>("SELECT due_at FROM shard_jobs WHERE job = ?", job).toArray()[0];
	return row ? Number(row.due_at) : null;
}

/** Schedules `job` at `dueAt`; with `onlyEarlier`, an earlier schedule is kept. */
export function scheduleJob(sql: SqlStorage, job: ShardJob, dueAt: number, onlyEarlier = false) {
	sql.exec(
		onlyEarlier
			? `INSERT INTO shard_jobs (job, due_at) VALUES (?, ?)
			   ON CONFLICT (job) DO UPDATE SET due_at = MIN(due_at, excluded.due_at)`
			: "INSERT OR REPLACE INTO shard_jobs (job, due_at) VALUES (?, ?)",
		job,
		dueAt,
	);
}

export function clearJob(sql: SqlStorage, job: ShardJob): void {
	sql.exec("DELETE FROM shard_jobs WHERE job = ?", job);
}

export function nextJob(sql: SqlStorage): number | null {
	const row = sql.exec<Row>("SELECT MIN(due_at) AS due FROM shard_jobs").one();
	return row.due === null || row.due === undefined ? null : Number(row.due);
}
