/**
 * The metrics tables of a deployment object: per-minute aggregates per variant,
 * routing threshold and rollout epoch, latency buckets, feedback moments and shadow samples
 * (the feedback de-duplication set now lives in the ingest shards; this one's
 * rows only age out). Functions take the SQL handle; the Durable Object class
 * only wires them to RPC.
 */

import type { FeedbackDelta } from "../ingest/protocol";
import {
	type AggregateRow,
	emptyAggregate,
	emptyFeedback,
	type FeedbackAggregate,
	type FeedbackMinute,
	type MinuteRow,
	mergeAggregates,
	type VariantAggregate,
} from "../metrics/aggregate";
import type { IngestBatch, ShadowSample } from "../metrics/batch";
import type { Histogram } from "../metrics/histogram";
import type { ObservedVariant } from "../metrics/observation";
import { type Moments, mergeMoments } from "../stats";
import { addAnswerRow, answerRows, ingestAnswers } from "./answer-tables";
import type { Migration } from "./sql-migrations";

export const METRICS_MIGRATIONS: Migration[] = [
	{
		version: 1,
		statements: [
			`CREATE TABLE minute_stats (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, threshold INTEGER NOT NULL, epoch INTEGER NOT NULL,
				requests INTEGER NOT NULL, errors_5xx INTEGER NOT NULL, timeouts INTEGER NOT NULL,
				network_errors INTEGER NOT NULL, fallbacks INTEGER NOT NULL, shadow_skipped INTEGER NOT NULL,
				lat_n INTEGER NOT NULL, lat_mean REAL NOT NULL, lat_m2 REAL NOT NULL,
				compared INTEGER NOT NULL, agreed INTEGER NOT NULL, uncomparable INTEGER NOT NULL,
				PRIMARY KEY (minute, variant, threshold, epoch))`,
			`CREATE TABLE latency_buckets (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, threshold INTEGER NOT NULL, epoch INTEGER NOT NULL,
				bucket INTEGER NOT NULL, count INTEGER NOT NULL,
				PRIMARY KEY (minute, variant, threshold, epoch, bucket))`,
			`CREATE TABLE feedback_stats (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, epoch INTEGER NOT NULL,
				n INTEGER NOT NULL, mean REAL NOT NULL, m2 REAL NOT NULL,
				PRIMARY KEY (minute, variant, epoch))`,
			"CREATE TABLE feedback_seen (request_id TEXT PRIMARY KEY, time INTEGER NOT NULL)",
			`CREATE TABLE shadow_samples (
				id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, input_hash TEXT NOT NULL,
				champion_output TEXT NOT NULL, candidate_output TEXT NOT NULL,
				champion_latency_ms REAL NOT NULL, candidate_latency_ms REAL NOT NULL,
				candidate_outcome TEXT NOT NULL, agreed INTEGER, reason TEXT)`,
		],
	},
	{
		// Candidate units an isolate's breaker sent to the champion.
		version: 4,
		statements: ["ALTER TABLE minute_stats ADD COLUMN diverted INTEGER NOT NULL DEFAULT 0"],
	},
	{
		// Client faults (4xx, clients gone, bodies refused), never charged to a variant;
		// the feedback of requests the champion answered after the candidate failed.
		version: 5,
		statements: [
			"ALTER TABLE minute_stats ADD COLUMN client_faults INTEGER NOT NULL DEFAULT 0",
			"ALTER TABLE feedback_stats ADD COLUMN fallback_n INTEGER NOT NULL DEFAULT 0",
			"ALTER TABLE feedback_stats ADD COLUMN fallback_mean REAL NOT NULL DEFAULT 0",
			"ALTER TABLE feedback_stats ADD COLUMN fallback_m2 REAL NOT NULL DEFAULT 0",
		],
	},
];

type Row = Record<string, SqlStorageValue>;

function num(row: Row, key: string): number {
	return Number(row[key] ?? 0);
}

/** Adds a batch: merges each row into its stored minute (Chan for moments), adds bucket counts. */
export function ingestBatch(sql: SqlStorage, batch: IngestBatch): void {
	for (const { minute, variant, threshold, epoch, aggregate } of batch.rows) {
		const stored = sql
			.exec<Row>(
				"SELECT * FROM minute_stats WHERE minute = ? AND variant = ? AND threshold = ? AND epoch = ?",
				minute,
				variant,
				threshold,
				epoch,
			)
			.toArray()[0];
		const merged = stored
			? mergeAggregates(aggregateOf(stored), { ...aggregate, histogram: {}, answers: {} })
			: aggregate;
		sql.exec(
			`INSERT OR REPLACE INTO minute_stats (minute, variant, threshold, epoch, requests, errors_5xx,
			 timeouts, network_errors, fallbacks, shadow_skipped, lat_n, lat_mean, lat_m2, compared, agreed,
			 uncomparable, diverted, client_faults, stream_errors)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			minute,
			variant,
			threshold,
			epoch,
			merged.requests,
			merged.errors5xx,
			merged.timeouts,
			merged.networkErrors,
			merged.fallbacks,
			0, // shadow_skipped: no longer produced (bodies are always read in full)
			merged.latency.n,
			merged.latency.mean,
			merged.latency.m2,
			merged.compared,
			merged.agreed,
			merged.uncomparable,
			merged.diverted,
			merged.clientFaults,
			merged.streamErrors,
		);
		ingestAnswers(sql, { minute, variant, threshold, epoch }, aggregate.answers);
		for (const [bucket, count] of Object.entries(aggregate.histogram)) {
			sql.exec(
				`INSERT INTO latency_buckets VALUES (?, ?, ?, ?, ?, ?)
				 ON CONFLICT DO UPDATE SET count = count + excluded.count`,
				minute,
				variant,
				threshold,
				epoch,
				Number(bucket),
				count,
			);
		}
	}
	for (const s of batch.samples) {
		sql.exec(
			`INSERT INTO shadow_samples (time, input_hash, champion_output, candidate_output, champion_latency_ms,
			 candidate_latency_ms, candidate_outcome, agreed, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.time,
			s.inputHash,
			s.championOutput,
			s.candidateOutput,
			s.championLatencyMs,
			s.candidateLatencyMs,
			s.candidateOutcome,
			s.agreed === null ? null : s.agreed ? 1 : 0,
			s.reason ?? null,
		);
	}
}

function aggregateOf(row: Row): VariantAggregate {
	return {
		requests: num(row, "requests"),
		errors5xx: num(row, "errors_5xx"),
		timeouts: num(row, "timeouts"),
		networkErrors: num(row, "network_errors"),
		fallbacks: num(row, "fallbacks"),
		diverted: num(row, "diverted"),
		clientFaults: num(row, "client_faults"),
		streamErrors: num(row, "stream_errors"),
		answers: {},
		latency: { n: num(row, "lat_n"), mean: num(row, "lat_mean"), m2: num(row, "lat_m2") },
		histogram: {},
		compared: num(row, "compared"),
		agreed: num(row, "agreed"),
		uncomparable: num(row, "uncomparable"),
	};
}

/**
 * Aggregates per (variant, threshold) over minutes [fromMinute, toMinute);
 * with `epoch`, only that rollout's observations.
 */
export function aggregateRows(
	sql: SqlStorage,
	fromMinute: number,
	toMinute: number,
	epoch?: number,
): AggregateRow[] {
	const onlyEpoch = epoch === undefined ? "" : " AND epoch = ?";
	const bindings = epoch === undefined ? [fromMinute, toMinute] : [fromMinute, toMinute, epoch];
	const groups = new Map<string, AggregateRow>();
	const group = (variant: string, threshold: number) => {
		const key = `${variant}|${threshold}`;
		let row = groups.get(key);
		if (!row) {
			row = { variant: variant as ObservedVariant, threshold, aggregate: emptyAggregate() };
			groups.set(key, row);
		}
		return row;
	};
	for (const row of sql.exec<Row>(
		`SELECT * FROM minute_stats WHERE minute >= ? AND minute < ?${onlyEpoch} ORDER BY minute`,
		...bindings,
	)) {
		const target = group(String(row.variant), num(row, "threshold"));
		target.aggregate = mergeAggregates(target.aggregate, aggregateOf(row));
	}
	for (const row of sql.exec<Row>(
		`SELECT variant, threshold, bucket, SUM(count) AS count FROM latency_buckets
		 WHERE minute >= ? AND minute < ?${onlyEpoch} GROUP BY variant, threshold, bucket`,
		...bindings,
	)) {
		group(String(row.variant), num(row, "threshold")).aggregate.histogram[num(row, "bucket")] = num(
			row,
			"count",
		);
	}
	for (const answer of answerRows(sql, fromMinute, toMinute, epoch))
		addAnswerRow(group(answer.variant, answer.threshold).aggregate, answer);
	return [...groups.values()];
}

/**
 * The stored rows over minutes [fromMinute, toMinute), one per (minute,
 * variant, threshold), with their latency histograms; with `epoch`, only that
 * rollout's. In minute order.
 */
export function minuteRows(
	sql: SqlStorage,
	fromMinute: number,
	toMinute: number,
	epoch?: number,
): MinuteRow[] {
	const onlyEpoch = epoch === undefined ? "" : " AND epoch = ?";
	const bindings = epoch === undefined ? [fromMinute, toMinute] : [fromMinute, toMinute, epoch];
	const rows = new Map<string, MinuteRow>();
	for (const row of sql.exec<Row>(
		`SELECT * FROM minute_stats WHERE minute >= ? AND minute < ?${onlyEpoch} ORDER BY minute`,
		...bindings,
	)) {
		const minute = num(row, "minute");
		const variant = String(row.variant) as ObservedVariant;
		const threshold = num(row, "threshold");
		const key = `${minute}|${variant}|${threshold}`;
		const existing = rows.get(key);
		const aggregate = aggregateOf(row);
		rows.set(key, {
			minute,
			variant,
			threshold,
			aggregate: existing ? mergeAggregates(existing.aggregate, aggregate) : aggregate,
		});
	}
	for (const row of sql.exec<Row>(
		`SELECT minute, variant, threshold, bucket, SUM(count) AS count FROM latency_buckets
		 WHERE minute >= ? AND minute < ?${onlyEpoch} GROUP BY minute, variant, threshold, bucket`,
		...bindings,
	)) {
		const target = rows.get(
			`${num(row, "minute")}|${String(row.variant)}|${num(row, "threshold")}`,
		);
		if (target) target.aggregate.histogram[num(row, "bucket")] = num(row, "count");
	}
	for (const answer of answerRows(sql, fromMinute, toMinute, epoch)) {
		const target = rows.get(`${answer.minute}|${answer.variant}|${answer.threshold}`);
		if (target) addAnswerRow(target.aggregate, answer);
	}
	return [...rows.values()];
}

/**
 * Feedback moments per request minute and variant over [fromMinute,
 * toMinute); with `epoch`, only that rollout's. In minute order.
 */
export function feedbackMinutes(
	sql: SqlStorage,
	fromMinute: number,
	toMinute: number,
	epoch?: number,
): FeedbackMinute[] {
	const onlyEpoch = epoch === undefined ? "" : " AND epoch = ?";
	const rows: FeedbackMinute[] = [];
	for (const row of sql.exec<Row>(
		`SELECT minute, variant, n, mean, m2 FROM feedback_stats WHERE minute >= ? AND minute < ?${onlyEpoch} ORDER BY minute`,
		...(epoch === undefined ? [fromMinute, toMinute] : [fromMinute, toMinute, epoch]),
	)) {
		rows.push({
			minute: num(row, "minute"),
			variant: row.variant === "candidate" ? "candidate" : "champion",
			moments: { n: num(row, "n"), mean: num(row, "mean"), m2: num(row, "m2") },
		});
	}
	return rows;
}

/**
 * Feedback moments per variant over minutes [fromMinute, toMinute) of the
 * requests they are about; with `epoch`, only that rollout's.
 */
export function feedbackTotals(
	sql: SqlStorage,
	fromMinute: number,
	toMinute: number,
	epoch?: number,
): FeedbackAggregate {
	const result = emptyFeedback();
	const onlyEpoch = epoch === undefined ? "" : " AND epoch = ?";
	for (const row of sql.exec<Row>(
		`SELECT variant, n, mean, m2 FROM feedback_stats WHERE minute >= ? AND minute < ?${onlyEpoch}`,
		...(epoch === undefined ? [fromMinute, toMinute] : [fromMinute, toMinute, epoch]),
	)) {
		const variant = row.variant === "candidate" ? "candidate" : "champion";
		result[variant] = mergeMoments(result[variant], {
			n: num(row, "n"),
			mean: num(row, "mean"),
			m2: num(row, "m2"),
		});
	}
	return result;
}

/**
 * Folds a feedback delta (the moments of values about one minute's requests
 * of one variant and rollout, and of its fallback subset) into the stored
 * minute (Chan's formula). The de-duplication happened in the ingest shard.
 */
export function mergeFeedback(sql: SqlStorage, delta: FeedbackDelta): void {
	const stored = sql
		.exec<Row>(
			"SELECT * FROM feedback_stats WHERE minute = ? AND variant = ? AND epoch = ?",
			delta.minute,
			delta.variant,
			delta.epoch,
		)
		.toArray()[0];
	const moments = (prefix: string): Moments =>
		stored
			? {
					n: num(stored, `${prefix}n`),
					mean: num(stored, `${prefix}mean`),
					m2: num(stored, `${prefix}m2`),
				}
			: { n: 0, mean: 0, m2: 0 };
	const all = mergeMoments(moments(""), delta.all);
	const fallback = mergeMoments(moments("fallback_"), delta.fallback);
	sql.exec(
		`INSERT OR REPLACE INTO feedback_stats (minute, variant, epoch, n, mean, m2, fallback_n,
		 fallback_mean, fallback_m2) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		delta.minute,
		delta.variant,
		delta.epoch,
		all.n,
		all.mean,
		all.m2,
		fallback.n,
		fallback.mean,
		fallback.m2,
	);
}

/** Keeps only the newest `limit` shadow samples (at write time, so storage never exceeds it). */
export function capShadowSamples(sql: SqlStorage, limit: number): void {
	sql.exec(
		"DELETE FROM shadow_samples WHERE id <= (SELECT MAX(id) FROM shadow_samples) - ?",
		limit,
	);
}

export interface MinuteSeriesRow {
	minute: number;
	variant: ObservedVariant;
	aggregate: VariantAggregate;
	feedback: Moments;
}

/** Per-minute aggregates per variant (thresholds and epochs merged) over [fromMinute, toMinute). */
export function minuteSeries(
	sql: SqlStorage,
	fromMinute: number,
	toMinute: number,
): MinuteSeriesRow[] {
	const rows = new Map<string, MinuteSeriesRow>();
	const at = (minute: number, variant: string) => {
		const key = `${minute}|${variant}`;
		let row = rows.get(key);
		if (!row) {
			row = {
				minute,
				variant: variant as ObservedVariant,
				aggregate: emptyAggregate(),
				feedback: { n: 0, mean: 0, m2: 0 },
			};
			rows.set(key, row);
		}
		return row;
	};
	for (const row of sql.exec<Row>(
		"SELECT * FROM minute_stats WHERE minute >= ? AND minute < ?",
		fromMinute,
		toMinute,
	)) {
		const target = at(num(row, "minute"), String(row.variant));
		target.aggregate = mergeAggregates(target.aggregate, aggregateOf(row));
	}
	for (const row of sql.exec<Row>(
		`SELECT minute, variant, bucket, SUM(count) AS count FROM latency_buckets
		 WHERE minute >= ? AND minute < ? GROUP BY minute, variant, bucket`,
		fromMinute,
		toMinute,
	)) {
		const histogram: Histogram = at(num(row, "minute"), String(row.variant)).aggregate.histogram;
		histogram[num(row, "bucket")] = num(row, "count");
	}
	for (const row of sql.exec<Row>(
		"SELECT minute, variant, n, mean, m2 FROM feedback_stats WHERE minute >= ? AND minute < ?",
		fromMinute,
		toMinute,
	)) {
		const target = at(num(row, "minute"), String(row.variant));
		target.feedback = mergeMoments(target.feedback, {
			n: num(row, "n"),
			mean: num(row, "mean"),
			m2: num(row, "m2"),
		});
	}
	for (const answer of answerRows(sql, fromMinute, toMinute))
		addAnswerRow(at(answer.minute, answer.variant).aggregate, answer);
	return [...rows.values()].sort(
		(a, b) => a.minute - b.minute || a.variant.localeCompare(b.variant),
	);
}

export interface StoredShadowSample extends ShadowSample {
	id: number;
}

/** The newest shadow samples first. */
export function recentShadowSamples(sql: SqlStorage, limit: number): StoredShadowSample[] {
	return sql
		.exec<Row>("SELECT * FROM shadow_samples ORDER BY id DESC LIMIT ?", limit)
		.toArray()
		.map((row) => ({
			id: num(row, "id"),
			time: num(row, "time"),
			inputHash: String(row.input_hash),
			championOutput: String(row.champion_output),
			candidateOutput: String(row.candidate_output),
			championLatencyMs: num(row, "champion_latency_ms"),
			candidateLatencyMs: num(row, "candidate_latency_ms"),
			candidateOutcome: String(row.candidate_outcome) as ShadowSample["candidateOutcome"],
			agreed: row.agreed === null ? null : Number(row.agreed) === 1,
			...(row.reason === null ? {} : { reason: String(row.reason) }),
		}));
}

export interface RetentionPolicy {
	/** Minute rows older than this minute are deleted. */
	beforeMinute: number;
	/** Shadow samples beyond the newest this many are deleted. */
	sampleLimit: number;
	/** Feedback de-duplication entries for requests older than this time are deleted. */
	feedbackBefore: number;
}

/** Deletes what retention no longer keeps; returns the number of rows deleted. */
export function applyRetention(sql: SqlStorage, policy: RetentionPolicy): number {
	let deleted = 0;
	for (const table of [
		"minute_stats",
		"latency_buckets",
		"feedback_stats",
		"answer_stats",
		"answer_buckets",
	]) {
		deleted += sql.exec(`DELETE FROM ${table} WHERE minute < ?`, policy.beforeMinute).rowsWritten;
	}
	deleted += sql.exec(
		"DELETE FROM feedback_seen WHERE time < ?",
		policy.feedbackBefore,
	).rowsWritten;
	deleted += sql.exec(
		"DELETE FROM shadow_samples WHERE id <= (SELECT id FROM shadow_samples ORDER BY id DESC LIMIT 1 OFFSET ?)",
		policy.sampleLimit,
	).rowsWritten;
	return deleted;
}

/** True when any table still holds data (the retention alarm keeps running). */
export function hasData(sql: SqlStorage): boolean {
	const row = sql
		.exec<Row>(
			"SELECT (SELECT COUNT(*) FROM minute_stats) + (SELECT COUNT(*) FROM shadow_samples) + (SELECT COUNT(*) FROM feedback_seen) AS n",
		)
		.one();
	return num(row, "n") > 0;
}
