/**
 * Notification events: which moments of a rollout a webhook hears about,
 * and which audit entry is which event. Pure.
 */

import type { NotifyEvent } from "../config/notify-events";

export type { NotifyEvent };

/** What the event mapping needs from an audit entry. */
export interface AuditFact {
	/** The audit kind: step_up, abort, admin:pause, manual, … */
	kind: string;
	/** The controller's decision code, for holds. */
	code?: string;
	from: { status: string; weight: number } | null;
	to: { status: string; weight: number };
}

const HOLD_EVENTS: Record<string, NotifyEvent> = {
	awaiting_approval: "awaiting_approval",
	srm: "hold:srm",
	underpowered: "hold:underpowered",
};

/** The event an audit entry announces, or null when it announces none. */
export function eventOf(fact: AuditFact): NotifyEvent | null {
	const { kind, from, to } = fact;
	switch (kind) {
		case "admin:start":
			return "start";
		case "step_up":
		case "start_canary":
			return "step_up";
		case "hold":
			// An underpowered canary holds with its usual code plus "_underpowered".
			if (fact.code?.endsWith("_underpowered")) return "hold:underpowered";
			return (fact.code && HOLD_EVENTS[fact.code]) || null;
		case "admin:approve":
			return "approved";
		case "promote":
			return "promote";
		case "admin:promote":
			// From shadow, "promote" moves the candidate to its canary's first step.
			return to.status === "promoted" ? "promote" : "step_up";
		case "abort":
		case "admin:abort":
			return "abort";
		case "admin:pause":
			return "pause";
		case "admin:resume":
			return "resume";
		case "manual": {
			// A hand edit in KV: announce what it did to the rollout.
			if (from?.status === to.status) return null;
			if (to.status === "aborted") return "abort";
			if (to.status === "paused") return "pause";
			if (from?.status === "paused" && (to.status === "running" || to.status === "shadowing"))
				return "resume";
			if (to.status === "promoted") return "promote";
			return null;
		}
		default:
			return null;
	}
}
