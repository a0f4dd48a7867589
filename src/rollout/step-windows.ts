/**
 * Step windows: the hours in which a canary may step up or be promoted
 * (aborts happen at any time). Pure: the current time comes in as Unix ms,
 * and wall-clock time in the window's IANA time zone comes from
 * Intl.DateTimeFormat (full ICU in workerd and Node), so daylight saving
 * time is the zone's own.
 *
 * A window is a set of weekdays and one range of local hours, "09:00-17:00":
 * start included, end excluded, start before end ("24:00" ends at midnight).
 *
 * @example
 * insideWindow({ timezone: "Europe/Berlin", days: ["mon"], hours: "09:00-17:00" }, Date.parse("2026-11-30T08:30:00Z")) // true (09:30 in Berlin)
 */
import { parseHours, WEEKDAYS, type Weekday } from "../config/calendar";

export interface StepWindowPolicy {
	/** IANA time zone, e.g. "Europe/Berlin". */
	timezone: string;
	days: readonly Weekday[];
	/** "HH:MM-HH:MM", local time. */
	hours: string;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timezone: string): Intl.DateTimeFormat {
	let format = formats.get(timezone);
	if (!format) {
		format = new Intl.DateTimeFormat("en-US", {
			timeZone: timezone,
			hourCycle: "h23",
			year: "numeric",
			month: "2-digit",
			day: "2-digit",
			hour: "2-digit",
			minute: "2-digit",
			second: "2-digit",
		});
		formats.set(timezone, format);
	}
	return format;
}

interface WallClock {
	year: number;
	/** 0–11 */
	month: number;
	day: number;
	/** Minutes after local midnight. */
	minutes: number;
	weekday: Weekday;
	/** The wall-clock time read as if it were UTC, in ms (for offsets). */
	asUtc: number;
}

/** The local date and time in `timezone` at `now`. */
export function wallClock(timezone: string, now: number): WallClock {
	const parts: Record<string, number> = {};
	for (const part of formatFor(timezone).formatToParts(new Date(now))) {
		if (part.type !== "literal") parts[part.type] = Number(part.value);
	}
	const year = parts.year ?? 1970;
	const month = (parts.month ?? 1) - 1;
	const day = parts.day ?? 1;
	const hour = parts.hour ?? 0;
	const minute = parts.minute ?? 0;
	const asUtc = Date.UTC(year, month, day, hour, minute, parts.second ?? 0);
	const weekday = WEEKDAYS[new Date(Date.UTC(year, month, day)).getUTCDay()] as Weekday;
	return { year, month, day, minutes: hour * 60 + minute, weekday, asUtc };
}

/** Whether `now` is inside the window (the start minute included, the end minute excluded). */
export function insideWindow(policy: StepWindowPolicy, now: number): boolean {
	const range = parseHours(policy.hours);
	if (!range) return false;
	const local = wallClock(policy.timezone, now);
	return (
		policy.days.includes(local.weekday) && local.minutes >= range.start && local.minutes < range.end
	);
}

/** The instant (Unix ms) at which a local date and minute of `timezone` happens. */
function zonedTime(timezone: string, year: number, month: number, day: number, minutes: number) {
	const guess = Date.UTC(year, month, day, 0, minutes);
	// Two passes: the offset at the first estimate may differ from the offset at the answer (DST).
	let t = guess - (wallClock(timezone, guess).asUtc - guess);
	t = guess - (wallClock(timezone, t).asUtc - t);
	return t;
}

/**
 * When the window is next open: `now` itself when inside, else the next
 * opening within a week (null when the window can never open, e.g. a start
 * that daylight saving time skips every time, or no days).
 */
export function nextOpening(policy: StepWindowPolicy, now: number): number | null {
	if (insideWindow(policy, now)) return now;
	const range = parseHours(policy.hours);
	if (!range) return null;
	const today = wallClock(policy.timezone, now);
	for (let offset = 0; offset <= 7; offset++) {
		const date = new Date(Date.UTC(today.year, today.month, today.day + offset));
		const weekday = WEEKDAYS[date.getUTCDay()] as Weekday;
		if (!policy.days.includes(weekday)) continue;
		const opens = zonedTime(
			policy.timezone,
			date.getUTCFullYear(),
			date.getUTCMonth(),
			date.getUTCDate(),
			range.start,
		);
		// A start inside a DST gap lands later the same day; accept it only if the window is open then.
		if (opens > now && insideWindow(policy, opens)) return opens;
	}
	return null;
}

/** "mon–fri 09:00-17:00 Europe/Berlin" */
export function describeWindow(policy: StepWindowPolicy): string {
	const ordered = WEEKDAYS.filter((d) => policy.days.includes(d));
	const order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
	const sorted = [...ordered].sort((a, b) => order.indexOf(a) - order.indexOf(b));
	const first = sorted[0];
	const last = sorted[sorted.length - 1];
	const contiguous =
		first !== undefined &&
		last !== undefined &&
		order.indexOf(last) - order.indexOf(first) === sorted.length - 1;
	const days =
		sorted.length === 7
			? "every day"
			: contiguous && sorted.length > 2
				? `${first}–${last}`
				: sorted.join(", ");
	return `${days} ${policy.hours} ${policy.timezone}`;
}
