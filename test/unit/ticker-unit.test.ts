/** npm start's controller clock: when it fires. */
import { describe, expect, it } from "vitest";
import { scheduledUrl, untilNextTick } from "../../scripts/lib/ticker";

describe("the local controller clock", () => {
	it("fires at the next minute boundary, like a `* * * * *` cron trigger", () => {
		const minute = Date.UTC(2026, 11, 8, 10, 0);
		expect(untilNextTick(minute)).toBe(60_000);
		expect(untilNextTick(minute + 1)).toBe(59_999);
		expect(untilNextTick(minute + 59_999)).toBe(1);
		expect(untilNextTick(minute + 12_345, 500)).toBe(500);
	});

	it("calls the edge's scheduled handler", () => {
		expect(scheduledUrl("http://127.0.0.1:8787/")).toBe(
			"http://127.0.0.1:8787/cdn-cgi/handler/scheduled?cron=*+*+*+*+*",
		);
	});
});
