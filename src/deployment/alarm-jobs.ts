/**
 * The jobs that share a deployment object's one alarm: retention (hourly,
 * while there is data) and the notification outbox (whenever a delivery is
 * due). Each job's due time lives in SQLite, so the alarm is always set to
 * the earliest of them and a restart of the object loses none.
 */
import { nextDelivery } from "./outbox";
import type { Migration } from "./sql-migrations";

export const ALARM_MIGRATIONS: Migration[] = [
	{
		version: 11,
		statements: ["CREATE TABLE alarm_jobs (job TEXT PRIMARY KEY, due_at INTEGER NOT NULL)"],
	},
];

export type AlarmJob = "retention";

type Row = Record<string, SqlStorageValue>;

/** When `job` is due, or null when it is not scheduled. */
export function jobDue(sql: SqlStorage, job: AlarmJob): number | null {
	const row = sql.exec<Row>("SELECT due_at FROM alarm_jobs WHERE job = ?", job).toArray()[0];
	return row ? Number(row.due_at) : null;
}

/** Schedules `job` at `dueAt`; `onlyIfAbsent` keeps an earlier schedule. */
export function scheduleJob(sql: SqlStorage, job: AlarmJob, dueAt: number, onlyIfAbsent = false) {
	sql.exec(
		onlyIfAbsent
			? "INSERT OR IGNORE INTO alarm_jobs (job, due_at) VALUES (?, ?)"
			: "INSERT OR REPLACE INTO alarm_jobs (job, due_at) VALUES (?, ?)",
		job,
		dueAt,
	);
}

export function clearJob(sql: SqlStorage, job: AlarmJob): void {
	sql.exec("DELETE FROM alarm_jobs WHERE job = ?", job);
}

/** The earliest due time of every job and pending delivery, or null when nothing is scheduled. */
export function nextAlarm(sql: SqlStorage): number | null {
	const row = sql.exec<Row>("SELECT MIN(due_at) AS due FROM alarm_jobs").toArray()[0];
	const jobs = row?.due === null || row?.due === undefined ? null : Number(row.due);
	const delivery = nextDelivery(sql);
	if (jobs === null) return delivery;
	if (delivery === null) return jobs;
	return Math.min(jobs, delivery);
}
