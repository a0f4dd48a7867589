import { describe, expect, it } from "vitest";
import { capacity, defaultIsolates, defaultSettings } from "../../scripts/capacity/model";
import { createRandom } from "../../scripts/lib/random";
import { VirtualClock } from "../../scripts/lib/virtual-clock";
import type { IngestAck } from "../../src/ingest/protocol";
import { IngestBuffer, type IngestHost } from "../../src/metrics/recorder";
import { okObservation } from "../helpers/aggregates";

const AT_1M = { rps: 1_000_000, deployments: 1, isolates: 10_000, feedbackShare: 0.1 };

/** Flush calls per second one isolate makes when the real recorder gets `rate` observations a second. */
async function measuredFlushRate(rate: number, seconds: number, seed: number): Promise<number> {
	const clock = new VirtualClock(0);
	const random = createRandom(seed);
	let calls = 0;
	const ack: IngestAck = { duplicates: 0, full: [] };
	const host: IngestHost = {
		limits: { batchSize: 1000, flushMs: 5000 },
		async send() {
			calls += 1;
			return ack;
		},
		later: clock.later,
		keep: clock.keep,
	};
	const buffer = new IngestBuffer({ now: clock.now, id: "iso", random: random.uniform });

	// Exponential gaps between arrivals (Poisson), each arrival recorded at its own time.
	let t = 0;
	const end = seconds * 1000;
	while (t < end) {
		t += (-Math.log(1 - random.uniform()) / rate) * 1000;
		await clock.setTime(t);
		buffer.observe(host, okObservation(t), 4);
	}
	return calls / seconds;
}

describe("the capacity model follows the recorder's real flush rule", () => {
	it.each([
		["age-bound (a batch every 5 s)", 50],
		["around the switch", 200],
		["size-bound (1,000 observations a batch)", 2000],
	])("predicts one isolate's flushes, %s", async (_label, rate) => {
		const measured = await measuredFlushRate(rate, 600, 11);
		const model = capacity({ rps: rate, deployments: 1, isolates: 1, feedbackShare: 0, shards: 4 });
		const predicted = model.requestsPerSecond.ingestShard.flushes * 4;
		expect(measured / predicted).toBeGreaterThan(0.97);
		expect(measured / predicted).toBeLessThan(1.03);
	});
});

describe("capacity at 1 M predictions/s over 10,000 isolates with 10 % feedback", () => {
	it("keeps every object at or below 500 requests/s with the recommended shard count, not with 4", () => {
		const four = capacity({ ...AT_1M, shards: 4 });
		expect(four.maxRequestsPerSecondPerObject).toBeGreaterThan(500);
		expect(four.goals.maxRequestsPerSecondPerObject.met).toBe(false);
		const shards = four.recommendedShards;
		expect(shards).toBe(5);
		const enough = capacity({ ...AT_1M, shards });
		expect(enough.maxRequestsPerSecondPerObject).toBeLessThanOrEqual(500);
		expect(
			capacity({ ...AT_1M, shards: shards - 1 }).maxRequestsPerSecondPerObject,
		).toBeGreaterThan(500);
	});

	it("needs about 2 object requests per 1,000 predictions: one flush per isolate per 5 s", () => {
		const c = capacity({ ...AT_1M, shards: 8 });
		expect(c.flushRequestsPer1000).toBeCloseTo(2, 1);
		expect(c.objectRequestsPer1000).toBeLessThanOrEqual(10);
		expect(c.perIsolateAndDeployment.flushIntervalSeconds).toBeCloseTo(5.009, 3);
	});

	it("reads KV twice per 1,000 predictions at a 10 s config TTL, and under once at 30 s", () => {
		expect(capacity({ ...AT_1M, shards: 8 }).kvReadsPer1000).toBeCloseTo(2, 1);
		const slower = capacity(
			{ ...AT_1M, shards: 8 },
			{ ...defaultSettings(), CONFIG_TTL_SECONDS: 30 },
		);
		expect(slower.kvReadsPer1000).toBeLessThanOrEqual(1);
	});

	it("prices a million predictions, most of it Worker requests and de-duplication rows", () => {
		const c = capacity({ ...AT_1M, shards: 8 });
		const perMillion = (x: number) => x / 86_400;
		expect(perMillion(c.costPerDay.workersRequests)).toBeCloseTo(0.33, 2);
		expect(c.costPerMillionPredictions).toBeGreaterThan(0.5);
		expect(c.costPerMillionPredictions).toBeLessThan(0.7);
		expect(c.costPerDay.total).toBeCloseTo(c.costPerMillionPredictions * 86_400, 3);
	});

	it("says that exact 7-day de-duplication of 100,000 values a second does not fit", () => {
		const c = capacity({ ...AT_1M, shards: 8 });
		expect(c.storage.fitsInObject).toBe(false);
		expect(c.storage.secondsUntilFeedbackFull).toBeCloseTo(1000, 6);
		expect(c.notes.join(" ")).toMatch(/FEEDBACK_SEEN_LIMIT/);
	});
});

describe("the capacity model's shape", () => {
	it("spreads the flushes: twice the shards, half the flushes on each", () => {
		const four = capacity({ ...AT_1M, shards: 4 }).requestsPerSecond.ingestShard.flushes;
		const eight = capacity({ ...AT_1M, shards: 8 }).requestsPerSecond.ingestShard.flushes;
		expect(four / eight).toBeCloseTo(2, 10);
	});

	it("assumes 100 predictions a second per isolate when the isolates are not given", () => {
		expect(defaultIsolates(1_000_000)).toBe(10_000);
		expect(defaultIsolates(50)).toBe(1);
	});

	it("refuses a traffic that is not one", () => {
		expect(() => capacity({ ...AT_1M, rps: 0, shards: 4 })).toThrow(RangeError);
		expect(() => capacity({ ...AT_1M, isolates: 0, shards: 4 })).toThrow(RangeError);
	});
});
