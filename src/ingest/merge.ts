/**
 * The deployment object's half of the ingest protocol: pull every shard with
 * its cursor, fold what comes back into the object's own per-minute tables
 * (the existing writers: ingestBatch, mergeFeedback), and advance the cursor
 * in the same transaction.
 *
 * Why it is exact:
 * - A shard writes only into its open generation and returns, for a cursor
 *   c, the generations (c, open] merged, then opens the next one. It deletes
 *   generations only up to the cursor it is sent, and the object sends only
 *   cursors it has committed, i.e. data it has folded in: nothing is lost
 *   when a pull, its answer or the fold fails; the next pull returns it again.
 * - The object folds an answer only when it starts at the cursor it holds
 *   (from === cursor), and moves the cursor to `to` in the same transaction:
 *   a repeated, late or concurrent answer starts elsewhere and is dropped, so
 *   no generation is folded twice.
 * - A shard whose storage was recreated has a new incarnation: the object's
 *   cursor for the old one means nothing there, and both sides start at 0.
 * - An isolate's retried batch carries the id the shard already applied, and
 *   feedback handed between shards is applied once per request id: both
 *   counted once before they ever reach a generation.
 */

import { capShadowSamples, ingestBatch, mergeFeedback } from "../deployment/metrics-tables";
import type { Migration } from "../deployment/sql-migrations";
import type { ShadowSample } from "../metrics/batch";
import type { PullResult, ShardCursor } from "./protocol";

/** Version 20 of the deployment object's schema. */
export const MERGE_MIGRATIONS: Migration[] = [
	{
		version: 20,
		statements: [
			`CREATE TABLE shard_cursors (
				shard INTEGER PRIMARY KEY, incarnation TEXT, generation INTEGER NOT NULL)`,
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

/** The shards to pull: 0..shards-1, and any other the object ever pulled (a count lowered). */
export function shardsToPull(sql: SqlStorage, shards: number): number[] {
	const known = sql
		.exec<Row>("SELECT shard FROM shard_cursors")
		.toArray()
		.map((r) => Number(r.shard));
	return [...new Set([...Array.from({ length: shards }, (_, i) => i), ...known])].sort(
		(a, b) => a - b,
	);
}

export type FoldOutcome = "folded" | "empty" | "stale";

/**
 * Folds pull answers in, each only when it starts at its shard's cursor;
 * shadow samples of all answers in time order, capped. Run it in one
 * transaction.
 */
export function foldPulls(
	sql: SqlStorage,
	answers: readonly { shard: number; result: PullResult }[],
	sampleLimit: number,
): FoldOutcome[] {
	const samples: ShadowSample[] = [];
	const outcomes = answers.map(({ shard, result }): FoldOutcome => {
		const cursor = cursorOf(sql, shard);
		const expected = cursor.incarnation === result.incarnation ? cursor.generation : 0;
		if (result.from !== expected || result.to < result.from) return "stale";
		if (result.to > result.from) {
			ingestBatch(sql, { rows: result.rows, samples: [], observations: 0 });
			for (const delta of result.feedback) mergeFeedback(sql, delta);
			samples.push(...result.samples);
		}
		sql.exec(
			"INSERT OR REPLACE INTO shard_cursors (shard, incarnation, generation) VALUES (?, ?, ?)",
			shard,
			result.incarnation,
			result.to,
		);
		return result.to > result.from ? "folded" : "empty";
	});
	if (samples.length > 0) {
		samples.sort((a, b) => a.time - b.time);
		ingestBatch(sql, { rows: [], samples, observations: 0 });
		capShadowSamples(sql, sampleLimit);
	}
	return outcomes;
}

/** What a pull needs from a shard: its cursor in, its answer out. */
export interface Pullable {
	pull(cursor: ShardCursor): Promise<PullResult>;
}

export interface SyncReport {
	folded: number;
	empty: number;
	stale: number;
	failed: { shard: number; error: string }[];
}

/**
 * Pulls the given shards in parallel (each bounded by `timeoutMs`: a late
 * answer is ignored and pulled again next time) and folds the answers in one
 * transaction. Never throws for a shard's failure: it is reported.
 */
export async function syncShards(
	storage: DurableObjectStorage,
	shards: readonly number[],
	stub: (shard: number) => Pullable,
	options: { timeoutMs: number; sampleLimit: number },
): Promise<SyncReport> {
	const report: SyncReport = { folded: 0, empty: 0, stale: 0, failed: [] };
	const answers: { shard: number; result: PullResult }[] = [];
	await Promise.all(
		shards.map(async (shard) => {
			try {
				const cursor = storage.transactionSync(() => cursorOf(storage.sql, shard));
				const result = await withTimeout(stub(shard).pull(cursor), options.timeoutMs);
				answers.push({ shard, result });
			} catch (error) {
				report.failed.push({ shard, error: String(error) });
			}
		}),
	);
	const outcomes = storage.transactionSync(() =>
		foldPulls(storage.sql, answers, options.sampleLimit),
	);
	for (const outcome of outcomes) report[outcome] += 1;
	return report;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => {
		if (timer !== undefined) clearTimeout(timer);
	});
}
