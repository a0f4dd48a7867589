import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseHours, WEEKDAYS } from "../../src/config/calendar";
import {
	describeWindow,
	insideWindow,
	nextOpening,
	type StepWindowPolicy,
} from "../../src/rollout/step-windows";

const berlin: StepWindowPolicy = {
	timezone: "Europe/Berlin",
	days: ["mon", "tue", "wed", "thu", "fri"],
	hours: "09:00-17:00",
};
const at = (iso: string) => Date.parse(iso);

describe("step windows", () => {
	it("is open from the start minute to just before the end, in the zone's winter time", () => {
		// Monday 30 November 2026; Berlin is UTC+1.
		expect(insideWindow(berlin, at("2026-11-30T07:59:00Z"))).toBe(false);
		expect(insideWindow(berlin, at("2026-11-30T08:00:00Z"))).toBe(true);
		expect(insideWindow(berlin, at("2026-11-30T15:59:59Z"))).toBe(true);
		expect(insideWindow(berlin, at("2026-11-30T16:00:00Z"))).toBe(false);
	});

	it("follows daylight saving time: 09:00 in Berlin is 07:00 UTC in July", () => {
		expect(insideWindow(berlin, at("2026-07-06T06:59:00Z"))).toBe(false);
		expect(insideWindow(berlin, at("2026-07-06T07:00:00Z"))).toBe(true);
		expect(insideWindow(berlin, at("2026-07-06T14:59:00Z"))).toBe(true);
		expect(insideWindow(berlin, at("2026-07-06T15:00:00Z"))).toBe(false);
	});

	it("is closed on days that are not listed, whatever the hour", () => {
		// Saturday 28 November 2026, 12:00 in Berlin.
		expect(insideWindow(berlin, at("2026-11-28T11:00:00Z"))).toBe(false);
		// The weekday is the local one: Monday 00:30 in Tokyo is still Sunday in UTC.
		const tokyo: StepWindowPolicy = { timezone: "Asia/Tokyo", days: ["mon"], hours: "00:00-01:00" };
		expect(insideWindow(tokyo, at("2026-11-29T15:30:00Z"))).toBe(true);
	});

	it("handles zones with a quarter-hour offset", () => {
		const kathmandu: StepWindowPolicy = {
			timezone: "Asia/Kathmandu",
			days: [...WEEKDAYS],
			hours: "09:00-10:00",
		};
		// UTC+5:45: 09:00 local is 03:15 UTC.
		expect(insideWindow(kathmandu, at("2026-11-30T03:14:00Z"))).toBe(false);
		expect(insideWindow(kathmandu, at("2026-11-30T03:15:00Z"))).toBe(true);
		expect(nextOpening(kathmandu, at("2026-11-30T04:30:00Z"))).toBe(at("2026-12-01T03:15:00Z"));
	});

	it("opens next on Monday morning after a weekend", () => {
		expect(nextOpening(berlin, at("2026-11-28T11:00:00Z"))).toBe(at("2026-11-30T08:00:00Z"));
		// Inside, the window is open now.
		expect(nextOpening(berlin, at("2026-11-30T09:00:00Z"))).toBe(at("2026-11-30T09:00:00Z"));
		// After hours on a weekday: the next morning.
		expect(nextOpening(berlin, at("2026-12-01T17:00:00Z"))).toBe(at("2026-12-02T08:00:00Z"));
	});

	it("finds the next opening across a change of daylight saving time", () => {
		// Autumn: Friday 23 October 18:00 CEST → Monday 26 October 09:00 CET.
		expect(nextOpening(berlin, at("2026-10-23T16:00:00Z"))).toBe(at("2026-10-26T08:00:00Z"));
		// Spring: Friday 27 March 18:00 CET → Monday 30 March 09:00 CEST.
		expect(nextOpening(berlin, at("2026-03-27T17:00:00Z"))).toBe(at("2026-03-30T07:00:00Z"));
	});

	it("opens a window that starts in a skipped hour once the clock passes it", () => {
		// 29 March 2026: Berlin jumps from 02:00 to 03:00.
		const night: StepWindowPolicy = {
			timezone: "Europe/Berlin",
			days: ["sun"],
			hours: "02:30-04:00",
		};
		const opens = nextOpening(night, at("2026-03-28T12:00:00Z"));
		expect(opens).toBe(at("2026-03-29T01:30:00Z"));
		expect(insideWindow(night, opens as number)).toBe(true);
	});

	it("never opens later than it could: nothing before the next opening is inside", () => {
		const zones = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Asia/Kolkata"];
		fc.assert(
			fc.property(
				fc.integer({ min: at("2026-01-01T00:00:00Z"), max: at("2027-12-31T00:00:00Z") }),
				fc.constantFrom(...zones),
				fc.subarray([...WEEKDAYS], { minLength: 1 }),
				fc.integer({ min: 0, max: 22 }),
				fc.integer({ min: 1, max: 10 }),
				fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
				(now, timezone, days, startHour, length, probes) => {
					const end = Math.min(24, startHour + length);
					const hours = `${String(startHour).padStart(2, "0")}:00-${String(end).padStart(2, "0")}:00`;
					const policy = { timezone, days, hours };
					const opens = nextOpening(policy, now);
					expect(opens).not.toBeNull();
					const t = opens as number;
					expect(t).toBeGreaterThanOrEqual(now);
					expect(t - now).toBeLessThanOrEqual(8 * 24 * 3_600_000);
					expect(insideWindow(policy, t)).toBe(true);
					if (t === now) return;
					for (const p of probes) {
						const probe = now + Math.floor(p * (t - now - 1));
						expect(insideWindow(policy, probe)).toBe(false);
					}
				},
			),
			{ seed: 20261128, numRuns: 300 },
		);
	});

	it("parses hours and refuses ranges that are empty, reversed or out of the day", () => {
		expect(parseHours("09:00-17:30")).toEqual({ start: 540, end: 1050 });
		expect(parseHours("00:00-24:00")).toEqual({ start: 0, end: 1440 });
		for (const bad of [
			"17:00-09:00",
			"09:00-09:00",
			"24:00-24:00",
			"9:00-17:00",
			"09:00-24:30",
			"09:60-10:00",
		])
			expect(parseHours(bad)).toBeNull();
	});

	it("describes itself for people", () => {
		expect(describeWindow(berlin)).toBe("mon–fri 09:00-17:00 Europe/Berlin");
		expect(describeWindow({ ...berlin, days: ["sat", "mon"] })).toBe(
			"mon, sat 09:00-17:00 Europe/Berlin",
		);
		expect(describeWindow({ ...berlin, days: [...WEEKDAYS] })).toBe(
			"every day 09:00-17:00 Europe/Berlin",
		);
	});
});
