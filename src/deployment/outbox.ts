/**
 * The notification outbox of a deployment object. An event is written to the
 * outbox in the same transaction as the audit entry it announces, so it is
 * never lost and never sent for a change that did not happen; the object's
 * alarm delivers it later (never inside a look), retrying with backoff until
 * the receiver answers 2xx or the attempts run out. Delivery is at least
 * once: `x-switchyard-delivery` is the same on every retry, for receivers
 * that de-duplicate.
 */
import type { DeploymentSpec, NotifyTarget } from "../config/spec";
import { type AuditFact, eventOf, type NotifyEvent } from "../notify/events";
import { backoffMs, bodyFor, type RolloutEvent, targetLabel, wants } from "../notify/payload";
import { SIGNATURE_HEADER, signature } from "../notify/sign";
import type { Migration } from "./sql-migrations";

export const OUTBOX_MIGRATIONS: Migration[] = [
	{
		// Webhook deliveries, one row per event and target, tied to the audit entry they announce.
		version: 10,
		statements: [
			`CREATE TABLE outbox (
				id INTEGER PRIMARY KEY AUTOINCREMENT, audit_id INTEGER NOT NULL, event TEXT NOT NULL,
				target TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
				status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER,
				last_status INTEGER, last_error TEXT, delivered_at INTEGER)`,
			"CREATE INDEX outbox_due ON outbox (status, next_at)",
			"CREATE INDEX outbox_audit ON outbox (audit_id)",
		],
	},
];

export type DeliveryStatus = "pending" | "delivered" | "failed";

/** A delivery as the history shows it. */
export interface NotificationState {
	event: NotifyEvent;
	/** The URL's origin or the service binding (never the full URL: it may hold a secret). */
	target: string;
	status: DeliveryStatus;
	attempts: number;
	/** When the next attempt is due (pending only), ISO 8601. */
	nextAttempt?: string;
	deliveredAt?: string;
	/** The last failure: an HTTP status or a network error. */
	lastError?: string;
}

type Row = Record<string, SqlStorageValue>;

/**
 * Queues the event an audit entry announces, once per target that wants it.
 * Runs inside the caller's transaction. Returns the number of rows queued.
 */
export function enqueueEvent(
	sql: SqlStorage,
	spec: DeploymentSpec | null,
	entry: AuditFact & {
		auditId: number;
		time: number;
		actor: string;
		revision: number;
		reason: string;
		details?: RolloutEvent["details"];
	},
): number {
	if (spec === null || spec.notify.length === 0) return 0;
	const event = eventOf(entry);
	if (event === null) return 0;
	const payload: RolloutEvent = {
		deployment: spec.name,
		event,
		time: entry.time,
		actor: entry.actor,
		from: entry.from && { status: entry.from.status, weight: entry.from.weight },
		to: { status: entry.to.status, weight: entry.to.weight },
		revision: entry.revision,
		reason: entry.reason,
		...(entry.details === undefined ? {} : { details: entry.details }),
	};
	let queued = 0;
	for (const target of spec.notify) {
		if (!wants(target, event)) continue;
		sql.exec(
			`INSERT INTO outbox (audit_id, event, target, body, created_at, status, attempts, next_at)
			 VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)`,
			entry.auditId,
			event,
			JSON.stringify(target),
			bodyFor(target.format, payload),
			entry.time,
			entry.time,
		);
		queued += 1;
	}
	return queued;
}

/** When the earliest pending delivery is due (Unix ms), or null. */
export function nextDelivery(sql: SqlStorage): number | null {
	const row = sql
		.exec<Row>("SELECT MIN(next_at) AS due FROM outbox WHERE status = 'pending'")
		.toArray()[0];
	return row?.due === null || row?.due === undefined ? null : Number(row.due);
}

export interface Delivery {
	id: number;
	event: NotifyEvent;
	target: NotifyTarget;
	/** The target as stored: deliveries to the same target share it. */
	targetKey: string;
	body: string;
	attempts: number;
}

/** Pending deliveries due at `now`, oldest first. */
export function dueDeliveries(sql: SqlStorage, now: number, limit: number): Delivery[] {
	return sql
		.exec<Row>(
			"SELECT id, event, target, body, attempts FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
			now,
			limit,
		)
		.toArray()
		.map((row) => ({
			id: Number(row.id),
			event: String(row.event) as NotifyEvent,
			target: JSON.parse(String(row.target)) as NotifyTarget,
			targetKey: String(row.target),
			body: String(row.body),
			attempts: Number(row.attempts),
		}));
}

export interface RetryPolicy {
	baseMs: number;
	maxAttempts: number;
}

/** Records one attempt: delivered, or failed (retried after a backoff until the attempts run out). */
export function recordAttempt(
	sql: SqlStorage,
	delivery: Delivery,
	outcome: { ok: true; status: number } | { ok: false; status?: number; error: string },
	now: number,
	policy: RetryPolicy,
): void {
	const attempts = delivery.attempts + 1;
	if (outcome.ok) {
		sql.exec(
			`UPDATE outbox SET status = 'delivered', attempts = ?, next_at = NULL, last_status = ?,
			 delivered_at = ? WHERE id = ?`,
			attempts,
			outcome.status,
			now,
			delivery.id,
		);
		return;
	}
	const exhausted = attempts >= policy.maxAttempts;
	const nextAt = exhausted ? null : now + backoffMs(attempts, policy.baseMs);
	sql.exec(
		"UPDATE outbox SET status = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ? WHERE id = ?",
		exhausted ? "failed" : "pending",
		attempts,
		nextAt,
		outcome.status ?? null,
		outcome.error.slice(0, 300),
		delivery.id,
	);
	// Later events to the same target wait behind this one, so a receiver gets them in order.
	if (nextAt !== null)
		sql.exec(
			"UPDATE outbox SET next_at = MAX(next_at, ?) WHERE status = 'pending' AND target = ? AND id > ?",
			nextAt,
			delivery.targetKey,
			delivery.id,
		);
}

/** Delivery states per audit entry id, for the history. */
export function notificationsFor(
	sql: SqlStorage,
	auditIds: readonly number[],
): Map<number, NotificationState[]> {
	const out = new Map<number, NotificationState[]>();
	if (auditIds.length === 0) return out;
	const rows = sql
		.exec<Row>(
			`SELECT * FROM outbox WHERE audit_id IN (${auditIds.map(() => "?").join(",")}) ORDER BY id`,
			...auditIds,
		)
		.toArray();
	for (const row of rows) {
		const status = String(row.status) as DeliveryStatus;
		const state: NotificationState = {
			event: String(row.event) as NotifyEvent,
			target: targetLabel(JSON.parse(String(row.target)) as NotifyTarget),
			status,
			attempts: Number(row.attempts),
			...(status === "pending" && row.next_at !== null
				? { nextAttempt: new Date(Number(row.next_at)).toISOString() }
				: {}),
			...(row.delivered_at === null
				? {}
				: { deliveredAt: new Date(Number(row.delivered_at)).toISOString() }),
			...(row.last_error === null || status === "delivered"
				? {}
				: { lastError: String(row.last_error) }),
		};
		const list = out.get(Number(row.audit_id)) ?? [];
		list.push(state);
		out.set(Number(row.audit_id), list);
	}
	return out;
}

/** Deletes delivered and failed rows older than `before` (Unix ms). */
export function pruneOutbox(sql: SqlStorage, before: number): void {
	sql.exec("DELETE FROM outbox WHERE status != 'pending' AND created_at < ?", before);
}

/** Sends one delivery; the outcome, never an exception. */
export async function send(
	delivery: Delivery,
	context: {
		deployment: string;
		secret: string | undefined;
		/** The service binding a target names, if configured. */
		binding: (name: string) => Fetcher | null;
		timeoutMs: number;
	},
): Promise<{ ok: true; status: number } | { ok: false; status?: number; error: string }> {
	if (!context.secret) return { ok: false, error: "WEBHOOK_SECRET is not set: nothing is sent" };
	const { target } = delivery;
	// The global fetch, called as a plain function (workerd refuses it with another `this`).
	let post = (url: string, init: RequestInit) => fetch(url, init);
	let url = target.url ?? "";
	if (target.service !== undefined) {
		const binding = context.binding(target.service);
		if (!binding)
			return { ok: false, error: `service binding ${target.service} is not configured` };
		post = (u, init) => binding.fetch(u, init);
		url = `https://${target.service.toLowerCase()}.internal/`;
	}
	try {
		const response = await post(url, {
			method: "POST",
			headers: {
				"content-type": "application/json",
				"user-agent": "switchyard-webhooks",
				"x-switchyard-event": delivery.event,
				"x-switchyard-delivery": `${context.deployment}/${delivery.id}`,
				[SIGNATURE_HEADER]: await signature(context.secret, delivery.body),
			},
			body: delivery.body,
			redirect: "manual",
			signal: AbortSignal.timeout(context.timeoutMs),
		});
		await response.body?.cancel();
		if (response.status >= 200 && response.status < 300)
			return { ok: true, status: response.status };
		return { ok: false, status: response.status, error: `HTTP ${response.status}` };
	} catch (error) {
		return { ok: false, error: String(error) };
	}
}
