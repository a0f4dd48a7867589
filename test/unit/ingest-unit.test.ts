import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRandom } from "../../scripts/lib/random";
import { VirtualClock } from "../../scripts/lib/virtual-clock";
import {
	batchId,
	type FeedbackItem,
	type IngestAck,
	parseShardName,
	type ShardBatch,
	shardName,
	shardOfFlush,
	shardOfUnit,
} from "../../src/ingest/protocol";
import { signingKeys } from "../../src/lib/keys";
import { flushCycleMs, flushDue } from "../../src/metrics/flush-rule";
import { IngestBuffer, type IngestHost } from "../../src/metrics/recorder";
import { signRequestId, unitTag, verifyRequestId } from "../../src/routing/request-id";
import { okObservation } from "../helpers/aggregates";

const LIMITS = { batchSize: 10, flushMs: 5000 };

/** A host on a virtual clock that records what it is given and answers as told. */
function recordingHost(clock: VirtualClock, answer: (call: number) => IngestAck | Error) {
	const calls: { shard: number; batches: ShardBatch[] }[] = [];
	const host: IngestHost = {
		limits: LIMITS,
		async send(_deployment, shard, batches) {
			calls.push({ shard, batches });
			const result = answer(calls.length);
			if (result instanceof Error) throw result;
			return result;
		},
		later: clock.later,
		keep: clock.keep,
	};
	return { host, calls };
}

const OK: IngestAck = { duplicates: 0, full: [] };

describe("shard choice", () => {
	it("sends a unit's feedback to one shard, the same for every request id of the unit", async () => {
		const keys = signingKeys({ SIGNING_KEY: "ingest-unit-signing-key" });
		// Requests of one unit that differ in everything else a request id says.
		const request = fc.record({
			time: fc.integer({ min: 0, max: 2 ** 42 }),
			candidate: fc.boolean(),
			fallback: fc.boolean(),
			pinned: fc.boolean(),
		});
		await fc.assert(
			fc.asyncProperty(
				fc.string(),
				fc.integer({ min: 1, max: 64 }),
				fc.array(request, { minLength: 2, maxLength: 5 }),
				async (unit, shards, requests) => {
					const shard = shardOfUnit(unitTag(unit), shards);
					expect(shard).toBeGreaterThanOrEqual(0);
					expect(shard).toBeLessThan(shards);
					const ids = new Set<string>();
					for (const r of requests) {
						const id = await signRequestId(keys, {
							deployment: "fb",
							assigned: r.candidate ? "candidate" : "champion",
							fallback: r.fallback,
							diverted: false,
							pinned: r.pinned,
							failed: false,
							time: r.time,
							unit: unitTag(unit),
						});
						ids.add(id);
						// What the feedback route does with a request id: the shard of the unit it names.
						const claims = await verifyRequestId(keys, id);
						expect(claims?.unit).toBe(unitTag(unit));
						expect(shardOfUnit(claims?.unit ?? "", shards)).toBe(shard);
					}
					expect(ids.size).toBe(requests.length);
				},
			),
			{ seed: 42, numRuns: 100 },
		);
	});

	it("spreads units evenly over the shards", () => {
		const random = createRandom(7);
		const counts = new Array(8).fill(0);
		const units = 80_000;
		for (let i = 0; i < units; i++) counts[shardOfUnit(unitTag(`u${random.uniform()}`), 8)] += 1;
		for (const count of counts) expect(Math.abs(count / (units / 8) - 1)).toBeLessThan(0.03);
	});

	it("gives every shard the same share of an isolate's flushes, from any start", () => {
		fc.assert(
			fc.property(fc.nat(1000), fc.integer({ min: 1, max: 64 }), (start, shards) => {
				const counts = new Array(shards).fill(0);
				for (let turn = 0; turn < shards * 3; turn++)
					counts[shardOfFlush(start, turn, shards)] += 1;
				expect(counts.every((c) => c === 3)).toBe(true);
			}),
		);
	});

	it("names shards after their deployment and index, and reads the names back", () => {
		expect(shardName("demo-ab", 3)).toBe("demo-ab:3");
		expect(parseShardName("demo-ab:3")).toEqual({ deployment: "demo-ab", shard: 3 });
		for (const bad of ["demo-ab", "demo-ab:64", "Demo:1", "a:b", ":1", "demo-ab:1:2"])
			expect(parseShardName(bad)).toBeNull();
	});
});

describe("the flush rule", () => {
	it("flushes at the batch size or at the oldest item's age, whichever comes first", () => {
		expect(flushDue(9, 4999, LIMITS)).toBe(false);
		expect(flushDue(10, 0, LIMITS)).toBe(true);
		expect(flushDue(1, 5000, LIMITS)).toBe(true);
	});

	it("predicts the time between flushes: age-bound at low rates, size-bound at high ones", () => {
		const limits = { batchSize: 1000, flushMs: 5000 };
		expect(flushCycleMs(100, limits)).toBeCloseTo(5010, 9);
		expect(flushCycleMs(1000, limits)).toBeCloseTo(1000, 9);
		expect(flushCycleMs(0.1, limits)).toBeCloseTo(15_000, 9);
		expect(flushCycleMs(0, limits)).toBe(Number.POSITIVE_INFINITY);
	});
});

describe("the isolate's buffer", () => {
	it("sends a batch once it holds METRICS_BATCH_SIZE items, and the rest when the oldest is METRICS_FLUSH_MS old", async () => {
		const clock = new VirtualClock(1_000_000);
		const { host, calls } = recordingHost(clock, () => OK);
		const buffer = new IngestBuffer({ now: clock.now, id: "iso", random: () => 0 });
		for (let i = 0; i < 13; i++) buffer.observe(host, okObservation(clock.now()), 4);
		await clock.runDue();
		expect(calls.map((c) => c.batches.map((b) => b.observations))).toEqual([[10]]);
		await clock.advance(clock.now() + 4999, 1);
		expect(calls).toHaveLength(1);
		await clock.advance(clock.now() + 1, 1);
		expect(calls.map((c) => c.batches.map((b) => b.observations))).toEqual([[10], [3]]);
		expect(calls.map((c) => c.shard)).toEqual([0, 1]);
		expect(buffer.idle()).toBe(true);
	});

	it("counts feedback values toward the batch size", async () => {
		const clock = new VirtualClock();
		const { host, calls } = recordingHost(clock, () => OK);
		const buffer = new IngestBuffer({ now: clock.now, id: "iso" });
		for (let i = 0; i < 5; i++) buffer.observe(host, okObservation(0), 4);
		for (let i = 0; i < 5; i++)
			expect(buffer.feedback(host, "d", 4, feedbackItem(`k${i}`, 0))).toBe("queued");
		await clock.runDue();
		expect(calls).toHaveLength(1);
		expect(calls[0]?.batches[0]?.feedback).toHaveLength(5);
	});

	it("retries a failed batch unchanged (same id, same shard) and drops it after 3 attempts, counted", async () => {
		const clock = new VirtualClock();
		const { host, calls } = recordingHost(clock, () => new Error("shard unreachable"));
		const buffer = new IngestBuffer({ now: clock.now, id: "iso", random: () => 0.5 });
		for (let i = 0; i < 10; i++) buffer.observe(host, okObservation(0), 4);
		buffer.feedback(host, "d", 4, feedbackItem("k", 2));
		await clock.advance(20_000, 100);
		const ids = calls.map((c) => c.batches.map((b) => b.id.split(".").slice(1).join(".")));
		expect(ids).toEqual([["iso.1"], ["iso.1", "iso.2"], ["iso.1", "iso.2"], ["iso.2"]]);
		// Ids sort by creation time (retention forgets them by prefix).
		expect(calls[0]?.batches[0]?.id).toBe(batchId(0, "iso", 1));
		expect(new Set(calls.map((c) => c.shard)).size).toBe(1);
		expect(buffer.stats).toMatchObject({
			flushes: 0,
			flushFailures: 4,
			droppedObservations: 10,
			droppedFeedback: 1,
		});
		expect(buffer.idle()).toBe(true);
	});

	it("refuses feedback for a shard that said it is full, for a minute", async () => {
		const clock = new VirtualClock();
		const { host } = recordingHost(clock, () => ({ duplicates: 0, full: [2] }));
		const buffer = new IngestBuffer({ now: clock.now, id: "iso" });
		expect(buffer.feedback(host, "d", 4, feedbackItem("a", 2))).toBe("queued");
		await clock.advance(5000, 100);
		expect(buffer.feedback(host, "d", 4, feedbackItem("b", 2))).toBe("full");
		expect(buffer.feedback(host, "d", 4, feedbackItem("c", 1))).toBe("queued");
		await clock.advance(70_000, 1000);
		expect(buffer.feedback(host, "d", 4, feedbackItem("d", 2))).toBe("queued");
	});
});

function feedbackItem(key: string, shard: number): FeedbackItem {
	return {
		key,
		variant: "champion",
		fallback: false,
		requestTime: 0,
		value: 1,
		epoch: 0,
		shard,
	};
}
