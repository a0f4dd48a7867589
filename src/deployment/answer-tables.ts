/**
 * The answer tables of a deployment object: per minute, variant, routing
 * threshold and epoch, the moments of each answer metric (TTFB, TTFT,
 * duration, tokens, tokens per second, cost) and, for the times, their
 * latency-histogram buckets. Functions take the SQL handle.
 */
import {
	ANSWER_METRICS,
	type AnswerMetric,
	type MetricAggregate,
	mergeAnswers,
	type VariantAggregate,
} from "../metrics/aggregate";
import type { ObservedVariant } from "../metrics/observation";
import { mergeMoments } from "../stats";
import type { Migration } from "./sql-migrations";

export const ANSWER_MIGRATIONS: Migration[] = [
	{
		// Streams and LLM answers: broken streams, and what answers' bodies showed.
		version: 6,
		statements: [
			"ALTER TABLE minute_stats ADD COLUMN stream_errors INTEGER NOT NULL DEFAULT 0",
			`CREATE TABLE answer_stats (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, threshold INTEGER NOT NULL, epoch INTEGER NOT NULL,
				metric TEXT NOT NULL, n INTEGER NOT NULL, mean REAL NOT NULL, m2 REAL NOT NULL,
				PRIMARY KEY (minute, variant, threshold, epoch, metric))`,
			`CREATE TABLE answer_buckets (
				minute INTEGER NOT NULL, variant TEXT NOT NULL, threshold INTEGER NOT NULL, epoch INTEGER NOT NULL,
				metric TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
				PRIMARY KEY (minute, variant, threshold, epoch, metric, bucket))`,
		],
	},
];

type Row = Record<string, SqlStorageValue>;
const num = (row: Row, key: string) => Number(row[key] ?? 0);
const isMetric = (value: unknown): value is AnswerMetric =>
	(ANSWER_METRICS as readonly unknown[]).includes(value);

/** Adds one row's answer aggregates to the stored minute (Chan for moments, counts for buckets). */
export function ingestAnswers(
	sql: SqlStorage,
	key: { minute: number; variant: string; threshold: number; epoch: number },
	answers: VariantAggregate["answers"],
): void {
	for (const metric of ANSWER_METRICS) {
		const add = answers[metric];
		if (!add) continue;
		const at = [key.minute, key.variant, key.threshold, key.epoch, metric] as const;
		const stored = sql
			.exec<Row>(
				"SELECT n, mean, m2 FROM answer_stats WHERE minute = ? AND variant = ? AND threshold = ? AND epoch = ? AND metric = ?",
				...at,
			)
			.toArray()[0];
		const moments = stored
			? mergeMoments(
					{ n: num(stored, "n"), mean: num(stored, "mean"), m2: num(stored, "m2") },
					add.moments,
				)
			: add.moments;
		sql.exec(
			"INSERT OR REPLACE INTO answer_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			...at,
			moments.n,
			moments.mean,
			moments.m2,
		);
		for (const [bucket, count] of Object.entries(add.histogram)) {
			sql.exec(
				`INSERT INTO answer_buckets VALUES (?, ?, ?, ?, ?, ?, ?)
				 ON CONFLICT DO UPDATE SET count = count + excluded.count`,
				...at,
				Number(bucket),
				count,
			);
		}
	}
}

export interface AnswerRow {
	minute: number;
	variant: ObservedVariant;
	threshold: number;
	metric: AnswerMetric;
	aggregate: MetricAggregate;
}

/** Every stored answer metric over minutes [fromMinute, toMinute), optionally of one epoch. */
export function answerRows(
	sql: SqlStorage,
	fromMinute: number,
	toMinute: number,
	epoch?: number,
): AnswerRow[] {
	const onlyEpoch = epoch === undefined ? "" : " AND epoch = ?";
	const bindings = epoch === undefined ? [fromMinute, toMinute] : [fromMinute, toMinute, epoch];
	const rows = new Map<string, AnswerRow>();
	const at = (row: Row): AnswerRow | undefined => {
		const metric = row.metric;
		if (!isMetric(metric)) return undefined;
		const key = `${row.minute}|${row.variant}|${row.threshold}|${metric}`;
		let found = rows.get(key);
		if (!found) {
			found = {
				minute: num(row, "minute"),
				variant: String(row.variant) as ObservedVariant,
				threshold: num(row, "threshold"),
				metric,
				aggregate: { moments: { n: 0, mean: 0, m2: 0 }, histogram: {} },
			};
			rows.set(key, found);
		}
		return found;
	};
	for (const row of sql.exec<Row>(
		`SELECT * FROM answer_stats WHERE minute >= ? AND minute < ?${onlyEpoch}`,
		...bindings,
	)) {
		const target = at(row);
		if (target)
			target.aggregate.moments = mergeMoments(target.aggregate.moments, {
				n: num(row, "n"),
				mean: num(row, "mean"),
				m2: num(row, "m2"),
			});
	}
	for (const row of sql.exec<Row>(
		`SELECT minute, variant, threshold, metric, bucket, SUM(count) AS count FROM answer_buckets
		 WHERE minute >= ? AND minute < ?${onlyEpoch} GROUP BY minute, variant, threshold, metric, bucket`,
		...bindings,
	)) {
		const target = at(row);
		if (target) target.aggregate.histogram[num(row, "bucket")] = num(row, "count");
	}
	return [...rows.values()];
}

/** Folds an answer row into an aggregate. */
export function addAnswerRow(aggregate: VariantAggregate, row: AnswerRow): void {
	aggregate.answers = mergeAnswers(aggregate.answers, { [row.metric]: row.aggregate });
}
