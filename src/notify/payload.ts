/**
 * What a webhook receives for one event: Switchyard's JSON event object or
 * a Slack incoming-webhook message. Pure; the body is built once, when the
 * event is recorded, so every retry sends the same bytes (and signature).
 */
import type { NotifyTarget } from "../config/spec";
import type { Json } from "../lib/json";
import type { NotifyEvent } from "./events";

export interface RolloutEvent {
	/** Unique per deployment and target: `<deployment>/<outbox id>` once stored. */
	deployment: string;
	event: NotifyEvent;
	/** Unix ms. */
	time: number;
	actor: string;
	from: { status: string; weight: number } | null;
	to: { status: string; weight: number };
	revision: number;
	reason: string;
	details?: Json;
}

/** The JSON body: `{"event", "deployment", "time", "actor", "from", "to", "revision", "reason", "details"?}`. */
export function jsonBody(e: RolloutEvent): string {
	return JSON.stringify({
		event: e.event,
		deployment: e.deployment,
		time: new Date(e.time).toISOString(),
		actor: e.actor,
		from: e.from,
		to: e.to,
		revision: e.revision,
		reason: e.reason,
		...(e.details === undefined ? {} : { details: e.details }),
	});
}

const HEADLINES: Record<NotifyEvent, string> = {
	start: "started",
	step_up: "stepped up",
	awaiting_approval: "is awaiting approval",
	approved: "was approved",
	promote: "promoted",
	abort: "ABORTED",
	pause: "paused",
	resume: "resumed",
	"hold:srm": "is holding: sample ratio mismatch",
	"hold:underpowered": "is holding: underpowered",
};

/** A Slack incoming-webhook message (`{"text"}`, mrkdwn). */
export function slackBody(e: RolloutEvent): string {
	const moved = e.from ? `${e.from.status} ${e.from.weight} % → ` : "";
	const text = `*${e.deployment}* ${HEADLINES[e.event]} (${moved}${e.to.status} ${e.to.weight} %, by ${e.actor})\n${e.reason}`;
	return JSON.stringify({ text });
}

export function bodyFor(format: NotifyTarget["format"], e: RolloutEvent): string {
	return format === "slack" ? slackBody(e) : jsonBody(e);
}

/** Whether a target wants this event (all events when it lists none). */
export function wants(target: NotifyTarget, event: NotifyEvent): boolean {
	return target.events === undefined || target.events.includes(event);
}

/**
 * Where a target delivers, for people and logs: the URL's origin (paths of
 * webhook URLs often carry a secret, e.g. Slack's) or the service binding.
 */
export function targetLabel(target: { url?: string; service?: string }): string {
	if (target.service !== undefined) return `service:${target.service}`;
	try {
		return new URL(target.url ?? "").origin;
	} catch {
		return "invalid url";
	}
}

/** Wait before attempt `attempt + 1`: base, doubling per attempt, at most an hour. */
export function backoffMs(attempt: number, baseMs: number): number {
	return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 3_600_000);
}
