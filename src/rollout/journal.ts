/**
 * The rollout's durable record inside its MetricsStore: the current state
 * (the source of truth), what was last published to KV, the analysis memory,
 * and the audit log. Functions take the SQL handle.
 */

import type { Actor, RolloutState } from "../config/state";
import { RolloutState as RolloutStateSchema } from "../config/state";
import type { Json } from "../lib/json";
import type { Migration } from "../lib/sql-migrations";
import { type AnalysisMemory, EMPTY_MEMORY } from "./analysis";

export const ROLLOUT_MIGRATIONS: Migration[] = [
	{
		version: 2,
		statements: [
			`CREATE TABLE rollout (
				id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, published TEXT,
				publishing_revision INTEGER, publishing_at INTEGER, memory TEXT NOT NULL, last_code TEXT)`,
			`CREATE TABLE audit_log (
				id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
				from_status TEXT, from_weight REAL, to_status TEXT NOT NULL, to_weight REAL NOT NULL,
				revision INTEGER NOT NULL, reason TEXT NOT NULL, details TEXT)`,
		],
	},
];

export interface RolloutRecord {
	state: RolloutState | null;
	published: RolloutState | null;
	publishing: { revision: number; at: number } | null;
	memory: AnalysisMemory;
	lastCode: string | null;
}

type Row = Record<string, SqlStorageValue>;

function parseState(text: SqlStorageValue | undefined): RolloutState | null {
	if (typeof text !== "string") return null;
	const parsed = RolloutStateSchema.safeParse(JSON.parse(text));
	return parsed.success ? parsed.data : null;
}

export function loadRollout(sql: SqlStorage): RolloutRecord {
	const row = sql.exec<Row>("SELECT * FROM rollout WHERE id = 1").toArray()[0];
	if (!row)
		return { state: null, published: null, publishing: null, memory: EMPTY_MEMORY, lastCode: null };
	return {
		state: parseState(row.state),
		published: parseState(row.published),
		publishing:
			row.publishing_revision === null || row.publishing_revision === undefined
				? null
				: { revision: Number(row.publishing_revision), at: Number(row.publishing_at) },
		memory: JSON.parse(String(row.memory)) as AnalysisMemory,
		lastCode: row.last_code === null || row.last_code === undefined ? null : String(row.last_code),
	};
}

export function saveRollout(sql: SqlStorage, record: RolloutRecord): void {
	sql.exec(
		"INSERT OR REPLACE INTO rollout (id, state, published, publishing_revision, publishing_at, memory, last_code) VALUES (1, ?, ?, ?, ?, ?, ?)",
		record.state ? JSON.stringify(record.state) : null,
		record.published ? JSON.stringify(record.published) : null,
		record.publishing?.revision ?? null,
		record.publishing?.at ?? null,
		JSON.stringify(record.memory),
		record.lastCode,
	);
}

export function clearRollout(sql: SqlStorage): void {
	sql.exec("DELETE FROM rollout");
}

export interface AuditEntry {
	id: number;
	time: string;
	actor: Actor;
	/** What happened: step_up, abort, promote, hold, manual, admin:pause, adopted, repair, … */
	kind: string;
	from: { status: string; weight: number } | null;
	to: { status: string; weight: number };
	revision: number;
	reason: string;
	/** The numbers behind a decision (guardrails, step window), as JSON text (RPC-friendly). */
	detailsJson?: string;
}

export function appendAudit(
	sql: SqlStorage,
	entry: {
		time: number;
		actor: Actor;
		kind: string;
		from: RolloutState | null;
		to: RolloutState;
		reason: string;
		details?: Json;
	},
): void {
	sql.exec(
		`INSERT INTO audit_log (time, actor, kind, from_status, from_weight, to_status, to_weight, revision, reason, details)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		entry.time,
		entry.actor,
		entry.kind,
		entry.from?.status ?? null,
		entry.from?.weight ?? null,
		entry.to.status,
		entry.to.weight,
		entry.to.revision,
		entry.reason,
		entry.details === undefined ? null : JSON.stringify(entry.details),
	);
}

/** Audit entries newest first; `before` (an id) pages further back. */
export function readAudit(sql: SqlStorage, limit: number, before?: number): AuditEntry[] {
	const rows = sql
		.exec<Row>(
			"SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?",
			before ?? Number.MAX_SAFE_INTEGER,
			limit,
		)
		.toArray();
	return rows.map((row) => ({
		id: Number(row.id),
		time: new Date(Number(row.time)).toISOString(),
		actor: String(row.actor) as Actor,
		kind: String(row.kind),
		from:
			row.from_status === null
				? null
				: { status: String(row.from_status), weight: Number(row.from_weight) },
		to: { status: String(row.to_status), weight: Number(row.to_weight) },
		revision: Number(row.revision),
		reason: String(row.reason),
		...(row.details === null ? {} : { detailsJson: String(row.details) }),
	}));
}
