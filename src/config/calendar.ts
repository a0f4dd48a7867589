/**
 * What a spec's step window is written in: weekdays, "HH:MM-HH:MM" local
 * hours and IANA time zones, with the checks the schema runs on them. When
 * a window is open is rollout/step-windows.ts.
 */

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/;

/** Start and end of "HH:MM-HH:MM" in minutes after local midnight; null when malformed or empty. */
export function parseHours(hours: string): { start: number; end: number } | null {
	const m = HOURS.exec(hours);
	if (!m) return null;
	const start = Number(m[1]) * 60 + Number(m[2]);
	const end = Number(m[3]) * 60 + Number(m[4]);
	if (end > 24 * 60 || end <= start) return null;
	return { start, end };
}

/** Whether the runtime knows this IANA time zone. */
export function isTimeZone(timezone: string): boolean {
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: timezone });
		return true;
	} catch {
		return false;
	}
}
