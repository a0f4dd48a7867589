import { describe, expect, it } from "vitest";
import {
	BREAKER_MIN_REQUESTS,
	BREAKER_WINDOW_MS,
	Breaker,
	breakerFor,
	clearBreakers,
} from "../../src/routing/breaker";

const T0 = 1_800_000_000_000;

/** Feeds `count` outcomes one millisecond apart; returns the index of the one that opened it, or -1. */
function feed(breaker: Breaker, start: number, outcomes: boolean[]): number {
	return outcomes.findIndex((failed, i) => breaker.record(start + i, failed));
}

describe("the candidate's circuit breaker", () => {
	it("opens on the request that takes a failing candidate past the ceiling over the minimum count", () => {
		const breaker = new Breaker(1, 0.2);
		const opened = feed(breaker, T0, Array(50).fill(true));
		expect(opened).toBe(BREAKER_MIN_REQUESTS - 1);
		expect(breaker.open).toBe(true);
	});

	it("stays closed below the ceiling", () => {
		const breaker = new Breaker(1, 0.2);
		// 10 % failing, for a long time.
		const outcomes = Array.from({ length: 500 }, (_, i) => i % 10 === 0);
		expect(feed(breaker, T0, outcomes)).toBe(-1);
		expect(breaker.open).toBe(false);
	});

	it("forgets failures older than its window", () => {
		const breaker = new Breaker(1, 0.2);
		feed(breaker, T0, Array(BREAKER_MIN_REQUESTS - 1).fill(true));
		// Past the window, one more failure is alone with healthy traffic.
		const later = T0 + BREAKER_WINDOW_MS + 1000;
		feed(breaker, later, Array(100).fill(false));
		expect(breaker.record(later + 200, true)).toBe(false);
		expect(breaker.open).toBe(false);
		// Within the window the same failures would have opened it.
		const fresh = new Breaker(1, 0.2);
		feed(fresh, T0, Array(BREAKER_MIN_REQUESTS - 1).fill(true));
		expect(fresh.record(T0 + BREAKER_WINDOW_MS / 2, true)).toBe(true);
	});

	it("is replaced by a closed one when the isolate's config changes, and kept otherwise", () => {
		clearBreakers();
		const first = breakerFor("d", 7, 0.2);
		feed(first, T0, Array(BREAKER_MIN_REQUESTS).fill(true));
		expect(breakerFor("d", 7, 0.2)).toBe(first);
		expect(breakerFor("d", 7, 0.2).open).toBe(true);
		expect(breakerFor("d", 8, 0.2).open).toBe(false);
		expect(breakerFor("other", 7, 0.2).open).toBe(false);
	});
});
