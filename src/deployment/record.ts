/**
 * The rollout's durable record inside its deployment object: the current
 * state (the source of truth), what was last published to KV, the last valid
 * spec seen, the tombstone of a deletion, the analysis memory, and the audit
 * log. Functions take the SQL handle and run inside the caller's transaction.
 */

import type { DeploymentSpec } from "../config/spec";
import { DeploymentSpec as DeploymentSpecSchema } from "../config/spec";
import type { Actor, RolloutState } from "../config/state";
import { KvRolloutState } from "../config/state";
import type { Json } from "../lib/json";
import { type AnalysisMemory, EMPTY_MEMORY } from "../rollout/analysis";
import { canonicalState } from "../rollout/reconcile";
import type { Migration } from "./sql-migrations";

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
	{
		// The object owns the rollout: it keeps the last valid spec, what it already
		// handled from KV, and the tombstone of a deletion.
		version: 3,
		statements: [
			"ALTER TABLE rollout ADD COLUMN spec TEXT",
			"ALTER TABLE rollout ADD COLUMN spec_raw TEXT",
			"ALTER TABLE rollout ADD COLUMN handled_raw TEXT",
			"ALTER TABLE rollout ADD COLUMN deleted_at INTEGER",
			"ALTER TABLE rollout ADD COLUMN deleted_spec_raw TEXT",
		],
	},
	{
		// The states published lately, to tell a stale copy from an old one edited by hand.
		version: 12,
		statements: ["ALTER TABLE rollout ADD COLUMN published_copies TEXT"],
	},
];

export interface Tombstone {
	/** Unix ms of the deletion. */
	at: number;
	/** The spec text KV held when it was deleted: seeing it again is a leftover, not a re-creation. */
	specRaw: string | null;
}

export interface RolloutRecord {
	/** The current state; null before the object first met this deployment. */
	state: RolloutState | null;
	/** The state last confirmed in KV. */
	published: RolloutState | null;
	memory: AnalysisMemory;
	/** The code of the last decision, so a repeated hold is logged once. */
	lastCode: string | null;
	/** The last valid spec seen in KV (or written through the admin API). */
	spec: DeploymentSpec | null;
	/** The raw text of the spec last read from KV, valid or not (an invalid one is logged once). */
	specRaw: string | null;
	/** Raw text of the last KV state already handled (an adopted hand edit, an invalid value). */
	handledRaw: string | null;
	/** Set when the deployment was deleted; nothing brings the rollout back but a new spec. */
	deleted: Tombstone | null;
	/** The states published lately (see {@link PublishedCopies}); null until the first publish. */
	copies: PublishedCopies | null;
}

/**
 * The canonical text of each state the object published lately, from
 * revision `since` on. A KV copy below the current revision is a stale
 * replica when it is one of these, and an old state edited by hand when it
 * is not (revisions before `since` were not kept: always stale).
 */
export interface PublishedCopies {
	since: number;
	texts: string[];
}

/** How many published states are kept: far more than can be published within KV's staleness. */
const COPIES_KEPT = 32;

/** Notes that `state` was published. */
export function notePublished(record: RolloutRecord, state: RolloutState): void {
	const text = canonicalState(state);
	const copies = record.copies ?? { since: state.revision, texts: [] };
	if (copies.texts.includes(text)) return;
	copies.texts = [...copies.texts, text].slice(-COPIES_KEPT);
	record.copies = copies;
}

type Row = Record<string, SqlStorageValue>;

const text = (value: SqlStorageValue | undefined): string | null =>
	typeof value === "string" ? value : null;

function parseStoredState(value: SqlStorageValue | undefined): RolloutState | null {
	const raw = text(value);
	if (raw === null) return null;
	const parsed = KvRolloutState.safeParse(JSON.parse(raw));
	return parsed.success ? { ...parsed.data, revision: parsed.data.revision ?? 0 } : null;
}

function parseStoredSpec(value: SqlStorageValue | undefined): DeploymentSpec | null {
	const raw = text(value);
	if (raw === null) return null;
	const parsed = DeploymentSpecSchema.safeParse(JSON.parse(raw));
	return parsed.success ? parsed.data : null;
}

export function emptyRecord(): RolloutRecord {
	return {
		state: null,
		published: null,
		memory: EMPTY_MEMORY,
		lastCode: null,
		spec: null,
		specRaw: null,
		handledRaw: null,
		deleted: null,
		copies: null,
	};
}

export function loadRollout(sql: SqlStorage): RolloutRecord {
	const row = sql.exec<Row>("SELECT * FROM rollout WHERE id = 1").toArray()[0];
	if (!row) return emptyRecord();
	return {
		state: parseStoredState(row.state),
		published: parseStoredState(row.published),
		memory: JSON.parse(String(row.memory)) as AnalysisMemory,
		lastCode: text(row.last_code),
		spec: parseStoredSpec(row.spec),
		specRaw: text(row.spec_raw),
		handledRaw: text(row.handled_raw),
		deleted:
			row.deleted_at === null || row.deleted_at === undefined
				? null
				: { at: Number(row.deleted_at), specRaw: text(row.deleted_spec_raw) },
		copies: parseCopies(text(row.published_copies)),
	};
}

export function saveRollout(sql: SqlStorage, record: RolloutRecord): void {
	sql.exec(
		`INSERT OR REPLACE INTO rollout (id, state, published, memory, last_code, spec, spec_raw,
		 handled_raw, deleted_at, deleted_spec_raw, published_copies) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		JSON.stringify(record.state),
		record.published ? JSON.stringify(record.published) : null,
		JSON.stringify(record.memory),
		record.lastCode,
		record.spec ? JSON.stringify(record.spec) : null,
		record.specRaw,
		record.handledRaw,
		record.deleted?.at ?? null,
		record.deleted?.specRaw ?? null,
		record.copies ? JSON.stringify(record.copies) : null,
	);
}

function parseCopies(raw: string | null): PublishedCopies | null {
	if (raw === null) return null;
	const parsed = JSON.parse(raw) as Partial<PublishedCopies>;
	return typeof parsed.since === "number" && Array.isArray(parsed.texts)
		? { since: parsed.since, texts: parsed.texts.filter((t) => typeof t === "string") }
		: null;
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
): number {
	const row = sql.exec<{ id: number }>(
		`INSERT INTO audit_log (time, actor, kind, from_status, from_weight, to_status, to_weight, revision, reason, details)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
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
	return Number(row.one().id);
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
