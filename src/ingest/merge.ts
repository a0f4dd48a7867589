/**
 * The deployment object's half of the ingest protocol. Each shard pushes
 * its closed generations (every INGEST_PUSH_MS while it has data, from its
 * alarm); the object stages them (cheap JSON rows, one per key) and, before
 * every look and metrics read, folds the staging into its own per-minute
 * tables with the existing writers (ingestBatch, mergeFeedback), merged per
 * key, so the tables are written once per key whatever the shard count and
 * the cron's look stays one call with no fan-out.
 *
 * Why it is exact:
 * - A shard writes only into its open generation. A push carries the
 *   generations (from, to] merged, `from` being the last cursor the object
 *   confirmed to it, and opens the next generation; the shard deletes
 *   generations only up to a cursor the object has confirmed, i.e. staged.
 *   Nothing is lost when a push, its answer or a fold fails: the data stays
 *   in the shard (or in the staging) and goes again.
 * - The object stages a push only when it starts at the cursor it holds for
 *   that shard (from === cursor) and moves the cursor to `to` in the same
 *   transaction, then answers with its cursor. A repeated or late push starts
 *   elsewhere and is refused with the object's cursor, which the shard adopts
 *   before pushing the rest: no generation is staged twice.
 * - Staging and folding happen in the object's transactions: a fold that
 *   fails leaves the staging as it was.
 * - A shard whose storage was recreated has a new incarnation: the object's
 *   cursor for the old one means nothing there, and both sides start at 0.
 * - An isolate's retried batch carries the id the shard already applied, and
 *   feedback handed between shards is applied once per request id: both
 *   counted once before they ever reach a generation.
 */
import { capShadowSamples, ingestBatch, mergeFeedback } from "../deployment/metrics-tables";
import type { Migration } from "../deployment/sql-migrations";
import type { VariantAggregate } from "../metrics/aggregate";
import type { IngestRow, ShadowSample } from "../metrics/batch";
import type { ObservedVariant } from "../metrics/observation";
import { type Moments, mergeMoments } from "../stats";
import type { FeedbackDelta, ShardCursor, ShardPush } from "./protocol";
import { mergeAggregateRow } from "./tables";

/** Version 20 of the deployment object's schema. */
export const MERGE_MIGRATIONS: Migration[] = [
	{
		version: 20,
		statements: [
			`CREATE TABLE shard_cursors (
				shard INTEGER PRIMARY KEY, incarnation TEXT, generation INTEGER NOT NULL)`,
			`CREATE TABLE staged_rows (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, threshold INTEGER NOT NULL,
				epoch INTEGER NOT NULL, aggregate TEXT NOT NULL,
				PRIMARY KEY (minute, variant, threshold, epoch)) WITHOUT ROWID`,
			`CREATE TABLE staged_feedback (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, epoch INTEGER NOT NULL,
				moments TEXT NOT NULL, PRIMARY KEY (minute, variant, epoch)) WITHOUT ROWID`,
			"CREATE TABLE staged_samples (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, sample TEXT NOT NULL)",
		],
	},
];

type Row = Record<string, SqlStorageValue>;

export function cursorOf(sql: SqlStorage, shard: number): ShardCursor {
	const row = sql
		.exec<Row>("SELECT incarnation, generation FROM shard_cursors WHERE shard = ?", shard)
		.toArray()[0];
	return row
		? {
				incarnation: row.incarnation === null ? null : String(row.incarnation),
				generation: Number(row.generation),
			}
		: { incarnation: null, generation: 0 };
}

export type StageOutcome = "staged" | "empty" | "stale";

/**
 * Stages a shard's push when it starts at the object's cursor for that
 * shard, and moves the cursor to its end; refuses it otherwise. Returns the
 * cursor after, which the shard adopts. Run it in one transaction.
 */
export function stagePush(
	sql: SqlStorage,
	shard: number,
	push: ShardPush,
	sampleLimit: number,
): { outcome: StageOutcome; cursor: ShardCursor } {
	const cursor = cursorOf(sql, shard);
	const expected = cursor.incarnation === push.incarnation ? cursor.generation : 0;
	if (push.from !== expected || push.to < push.from) return { outcome: "stale", cursor };
	for (const row of push.rows) stageRow(sql, row);
	for (const delta of push.feedback) stageFeedback(sql, delta);
	for (const sample of push.samples) {
		sql.exec(
			"INSERT INTO staged_samples (time, sample) VALUES (?, ?)",
			sample.time,
			JSON.stringify(sample),
		);
	}
	if (push.samples.length > 0) {
		sql.exec(
			"DELETE FROM staged_samples WHERE id <= (SELECT MAX(id) FROM staged_samples) - ?",
			sampleLimit,
		);
	}
	sql.exec(
		"INSERT OR REPLACE INTO shard_cursors (shard, incarnation, generation) VALUES (?, ?, ?)",
		shard,
		push.incarnation,
		push.to,
	);
	return {
		outcome: push.to > push.from ? "staged" : "empty",
		cursor: { incarnation: push.incarnation, generation: push.to },
	};
}

function stageRow(sql: SqlStorage, row: IngestRow): void {
	const { minute, variant, threshold, epoch } = row;
	mergeAggregateRow(sql, "staged_rows", { minute, variant, threshold, epoch }, row.aggregate);
}

function stageFeedback(sql: SqlStorage, delta: FeedbackDelta): void {
	const key = [delta.minute, delta.variant, delta.epoch] as const;
	const stored = sql
		.exec<Row>(
			"SELECT moments FROM staged_feedback WHERE minute = ? AND variant = ? AND epoch = ?",
			...key,
		)
		.toArray()[0];
	const before = stored
		? (JSON.parse(String(stored.moments)) as { all: Moments; fallback: Moments })
		: null;
	const moments = before
		? {
				all: mergeMoments(before.all, delta.all),
				fallback: mergeMoments(before.fallback, delta.fallback),
			}
		: { all: delta.all, fallback: delta.fallback };
	sql.exec(
		"INSERT OR REPLACE INTO staged_feedback VALUES (?, ?, ?, ?)",
		...key,
		JSON.stringify(moments),
	);
}

/**
 * Folds everything staged into the per-minute tables (one write per key) and
 * empties the staging; shadow samples in time order, capped. Returns the
 * rows folded. Run it in one transaction.
 */
export function foldStaged(sql: SqlStorage, sampleLimit: number): number {
	const rows: IngestRow[] = sql
		.exec<Row>("SELECT * FROM staged_rows")
		.toArray()
		.map((row) => ({
			minute: Number(row.minute),
			variant: String(row.variant) as ObservedVariant,
			threshold: Number(row.threshold),
			epoch: Number(row.epoch),
			aggregate: JSON.parse(String(row.aggregate)) as VariantAggregate,
		}));
	const feedback = sql.exec<Row>("SELECT * FROM staged_feedback").toArray();
	const samples = sql
		.exec<Row>("SELECT sample FROM staged_samples ORDER BY time, id")
		.toArray()
		.map((row) => JSON.parse(String(row.sample)) as ShadowSample);
	if (rows.length + feedback.length + samples.length === 0) return 0;
	ingestBatch(sql, { rows, samples, observations: 0 });
	for (const row of feedback) {
		const moments = JSON.parse(String(row.moments)) as { all: Moments; fallback: Moments };
		mergeFeedback(sql, {
			minute: Number(row.minute),
			variant: row.variant === "candidate" ? "candidate" : "champion",
			epoch: Number(row.epoch),
			...moments,
		});
	}
	if (samples.length > 0) capShadowSamples(sql, sampleLimit);
	for (const table of ["staged_rows", "staged_feedback", "staged_samples"]) {
		sql.exec(`DELETE FROM ${table}`);
	}
	return rows.length + feedback.length + samples.length;
}

/** Staged minutes older than this are dropped (a deployment no longer looked at). */
export function pruneStaged(sql: SqlStorage, beforeMinute: number): void {
	sql.exec("DELETE FROM staged_rows WHERE minute < ?", beforeMinute);
	sql.exec("DELETE FROM staged_feedback WHERE minute < ?", beforeMinute);
}
