/**
 * The moments of a rollout a webhook can subscribe to (the spec's
 * `notify.events`); which audit entry announces which is notify/events.ts.
 */
export const NOTIFY_EVENTS = [
	"start",
	"step_up",
	"awaiting_approval",
	"approved",
	"promote",
	"abort",
	"pause",
	"resume",
	"hold:srm",
	"hold:underpowered",
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
