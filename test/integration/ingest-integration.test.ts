import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createRandom } from "../../scripts/lib/random";
import { aggregateRows } from "../../src/deployment/metrics-tables";
import { migrate } from "../../src/deployment/sql-migrations";
import { cursorOf, foldStaged } from "../../src/ingest/merge";
import {
	batchId,
	type FeedbackItem,
	type ShardBatch,
	type ShardCursor,
	type ShardPush,
	shardOfUnit,
} from "../../src/ingest/protocol";
import {
	applyBatch,
	pruneShard,
	SHARD_MIGRATIONS,
	scheduleJob,
	shardMeta,
} from "../../src/ingest/tables";
import {
	addObservation,
	emptyAggregate,
	mergeRows,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import { PendingBatch } from "../../src/metrics/batch";
import type { Observation } from "../../src/metrics/observation";
import { IngestBuffer, type IngestHost } from "../../src/metrics/recorder";
import { type Moments, mergeMoments } from "../../src/stats";
import { admin, adminJson } from "../helpers/admin";
import { look } from "../helpers/controller";
import { deploy, spec, uniqueName } from "../helpers/edge";
import { settled, settledFeedback, shard, store, totals } from "../helpers/metrics";

const MINUTE = 60_000;
const NOW = Date.now();

function observation(
	deployment: string,
	variant: "champion" | "candidate",
	latencyMs: number,
	outcome: Observation["outcome"] = "ok",
	time = NOW,
): Observation {
	return {
		deployment,
		variant,
		threshold: 500,
		epoch: 0,
		time,
		outcome,
		status: outcome === "http_5xx" ? 503 : 200,
		latencyMs,
		fallback: false,
	};
}

function feedbackItem(key: string, unit: string, value: number, shards = 4): FeedbackItem {
	return {
		key,
		variant: "candidate",
		fallback: false,
		requestTime: NOW,
		value,
		epoch: 0,
		shard: shardOfUnit(unit, shards),
	};
}

function batchOf(
	id: string,
	observations: Observation[],
	feedback: FeedbackItem[] = [],
	shards = 4,
): ShardBatch {
	const pending = new PendingBatch(NOW, 20, shards);
	for (const o of observations) pending.addObservation(o);
	for (const f of feedback) pending.addFeedback(f);
	return pending.toShardBatch(id);
}

/** The end of the minutes these tests write (exclusive). */
const LATER = Math.ceil((NOW + MINUTE) / MINUTE);

/** Writes a batch into a shard's open generation without scheduling its push (as if it had not run yet). */
async function writeDirect(name: string, index: number, batch: ShardBatch): Promise<void> {
	await runInDurableObject(shard(name, index), (_instance, state) => {
		state.storage.transactionSync(() =>
			applyBatch(state.storage.sql, batch, index, { seen: 0, limit: 1000 }),
		);
	});
}

/** Makes a shard push now, from its alarm. */
async function pushNow(name: string, index: number): Promise<void> {
	await runInDurableObject(shard(name, index), async (_instance, state) => {
		scheduleJob(state.storage.sql, "push", 0);
		await state.storage.setAlarm(Date.now());
	});
	await runDurableObjectAlarm(shard(name, index));
}

const champions = (name: string, count: number, latency = 10) =>
	Array.from({ length: count }, (_, i) => observation(name, "champion", latency + i));

/** A unit tag whose feedback the given shard de-duplicates (of 4). */
function unitOn(target: number): string {
	for (let i = 0; ; i++) {
		const tag = i.toString(16).padStart(8, "0");
		if (shardOfUnit(tag, 4) === target) return tag;
	}
}

describe("ingest shards apply each batch once", () => {
	it("counts a batch sent twice (a retry whose first answer was lost) once", async () => {
		const name = uniqueName("twice");
		const batch = batchOf(batchId(NOW, "isolate-a", 1), champions(name, 10));
		expect(await shard(name, 0).ingest([batch])).toMatchObject({ duplicates: 0 });
		expect(await shard(name, 0).ingest([batch])).toMatchObject({ duplicates: 1 });
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(10);
	});

	it("retries a failed flush as it was (same id, same shard), so a lost answer never counts twice", async () => {
		const name = uniqueName("lost-answer");
		const buffer = new IngestBuffer({ id: "isolate-b", random: () => 0 });
		let answersToLose = 1;
		const sentTo: number[] = [];
		const host: IngestHost = {
			limits: { batchSize: 1000, flushMs: 5000 },
			async send(deployment, index, batches) {
				sentTo.push(index);
				const ack = await shard(deployment, index).ingest(batches);
				if (answersToLose-- > 0) throw new Error("the answer was lost on the way");
				return ack;
			},
			// Timers are run by hand below.
			later: () => {},
			keep: () => {},
		};
		for (const o of champions(name, 20)) buffer.observe(host, o, 4);
		await buffer.flush(host, name);
		expect(buffer.stats).toMatchObject({ flushes: 0, flushFailures: 1 });
		expect(buffer.idle()).toBe(false);
		for (const o of champions(name, 5)) buffer.observe(host, o, 4);
		await buffer.flush(host, name);
		// The retry and the new batch went together to the first batch's shard.
		expect(sentTo).toEqual([0, 0]);
		expect(buffer.stats).toMatchObject({ flushes: 1, duplicateBatches: 1 });
		expect(buffer.idle()).toBe(true);
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(25);
	});

	it("spreads an isolate's flushes over the shards in turn", async () => {
		const name = uniqueName("round-robin");
		const buffer = new IngestBuffer({ id: "isolate-c", random: () => 0.5 });
		const sentTo: number[] = [];
		const host: IngestHost = {
			limits: { batchSize: 3, flushMs: 5000 },
			async send(deployment, index, batches) {
				sentTo.push(index);
				return shard(deployment, index).ingest(batches);
			},
			later: () => {},
			keep: () => {},
		};
		for (const o of champions(name, 24)) buffer.observe(host, o, 4);
		await settleBuffer(buffer);
		expect(sentTo).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(24);
	});
});

describe("the deployment object takes each shard's pushes exactly once", () => {
	it("stages what the shards push and folds it into its tables at a look", async () => {
		const name = uniqueName("look");
		await deploy(name, 5);
		await shard(name, 0).ingest([batchOf(batchId(NOW, "i", 1), champions(name, 7))]);
		await shard(name, 3).ingest([batchOf(batchId(NOW, "i", 2), champions(name, 4))]);
		await settled(name, 4);
		const tables = () =>
			runInDurableObject(store(name), (_instance, state) => ({
				folded: mergeRows(aggregateRows(state.storage.sql, 0, LATER), "champion").requests,
				staged: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM staged_rows").one()
					.n,
			}));
		expect(await tables()).toEqual({ folded: 0, staged: 1 });
		await look(name);
		expect(await tables()).toEqual({ folded: 11, staged: 0 });
	});

	it("refuses a push repeated after its answer was lost, and takes the rest once", async () => {
		const name = uniqueName("lost-answer-push");
		await writeDirect(name, 0, batchOf(batchId(NOW, "i", 1), champions(name, 10)));
		// A push staged by the object whose answer never reached the shard.
		const first = await shard(name, 0).pull({ incarnation: null, generation: 0 });
		expect(first.to).toBeGreaterThan(first.from);
		expect(await store(name).stage(0, first)).toEqual({
			incarnation: first.incarnation,
			generation: first.to,
		});
		await writeDirect(name, 0, batchOf(batchId(NOW, "i", 2), champions(name, 5)));
		// The shard pushes from what it last heard (nothing): refused, it adopts the object's
		// cursor and pushes the rest.
		await pushNow(name, 0);
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(15);
		// The first push arriving once more, late: refused.
		await store(name).stage(0, first);
		expect((await totals(name)).champion.requests).toBe(15);
	});

	it("keeps a push the object cannot take, retries it, and loses nothing", async () => {
		const name = uniqueName("failed-push");
		await runInDurableObject(store(name), (_instance, state) => {
			state.storage.sql.exec("ALTER TABLE staged_rows RENAME TO staged_rows_away");
		});
		await shard(name, 1).ingest([batchOf(batchId(NOW, "i", 1), champions(name, 6))]);
		await vi.waitFor(
			async () => {
				const kept = await runInDurableObject(shard(name, 1), async (_instance, state) => ({
					pending: state.storage.sql
						.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pending_rows")
						.one().n,
					due:
						state.storage.sql
							.exec<{ due_at: number }>("SELECT due_at FROM shard_jobs WHERE job = 'push'")
							.toArray()[0]?.due_at ?? 0,
					alarm: await state.storage.getAlarm(),
				}));
				// Kept, rescheduled with backoff, and the alarm still armed.
				if (!(kept.pending > 0 && kept.due > Date.now() && kept.alarm !== null))
					throw new Error(`no failed push yet: ${JSON.stringify(kept)}`);
			},
			{ timeout: 5000, interval: 20 },
		);
		await runInDurableObject(store(name), (_instance, state) => {
			state.storage.sql.exec("ALTER TABLE staged_rows_away RENAME TO staged_rows");
		});
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(6);
	});

	it("leaves the staging as it was when a fold fails midway", async () => {
		const name = uniqueName("failed-fold");
		await shard(name, 1).ingest([batchOf(batchId(NOW, "i", 1), champions(name, 6))]);
		await settled(name, 4);
		await runInDurableObject(store(name), (_instance, state) => {
			const sql = state.storage.sql;
			expect(() =>
				state.storage.transactionSync(() => {
					foldStaged(sql, 5);
					throw new Error("the object crashed mid-fold");
				}),
			).toThrow(/mid-fold/);
			expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM staged_rows").one().n).toBe(1);
			expect(mergeRows(aggregateRows(sql, 0, LATER), "champion").requests).toBe(0);
		});
		expect((await totals(name)).champion.requests).toBe(6);
	});

	it("starts over with a shard whose storage was recreated (a new incarnation)", async () => {
		const name = uniqueName("incarnation");
		await shard(name, 2).ingest([batchOf(batchId(NOW, "i", 1), champions(name, 8))]);
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(8);
		const cursor = () =>
			runInDurableObject(store(name), (_i, state) => cursorOf(state.storage.sql, 2));
		const before = await cursor();
		await runInDurableObject(shard(name, 2), async (_instance, state) => {
			await state.storage.deleteAll();
			migrate(state.storage, SHARD_MIGRATIONS);
			state.storage.transactionSync(() => shardMeta(state.storage.sql));
		});
		await shard(name, 2).ingest([batchOf(batchId(NOW, "i", 2), champions(name, 2))]);
		await settled(name, 4);
		expect((await totals(name)).champion.requests).toBe(10);
		expect((await cursor()).incarnation).not.toBe(before.incarnation);
	});
});

describe("feedback in the shards", () => {
	it("is de-duplicated in the shard of its unit, however many shards it reached and however often it was handed on", async () => {
		const name = uniqueName("fb-handoff");
		const unit = unitOn(2);
		const item = feedbackItem("mac-of-request-1", unit, 1);
		await shard(name, 0).ingest([batchOf("i.1", [], [item])]);
		await shard(name, 1).ingest([batchOf("i.2", [], [item])]);
		await settled(name, 4);
		// A hand-off repeated after its answer was lost.
		expect(await shard(name, 2).forward([item], 4)).toEqual({ full: false });
		const feedback = await settledFeedback(name, 4);
		expect(feedback.candidate).toMatchObject({ n: 1, mean: 1 });
	});

	it("keeps a hand-off whose target fails, and delivers it once the target is back", async () => {
		const name = uniqueName("fb-retry");
		const item = feedbackItem("mac-of-request-2", unitOn(3), 0);
		await runInDurableObject(shard(name, 3), (_instance, state) => {
			state.storage.sql.exec("ALTER TABLE feedback_seen RENAME TO feedback_seen_away");
		});
		await shard(name, 0).ingest([batchOf("i.1", [], [item])]);
		await vi.waitFor(
			async () => {
				const failed = await runInDurableObject(shard(name, 0), async (_instance, state) => ({
					queued: state.storage.sql
						.exec<{ n: number }>("SELECT COUNT(*) AS n FROM forward_queue")
						.one().n,
					due: state.storage.sql
						.exec<{ due_at: number }>("SELECT due_at FROM shard_jobs WHERE job = 'forward'")
						.toArray()[0]?.due_at,
					alarm: await state.storage.getAlarm(),
				}));
				// Kept, rescheduled with backoff, and the alarm still armed.
				if (!(failed.queued === 1 && (failed.due ?? 0) > Date.now() && failed.alarm !== null))
					throw new Error(`not failed yet: ${JSON.stringify(failed)}`);
			},
			{ timeout: 5000, interval: 20 },
		);
		await runInDurableObject(shard(name, 3), (_instance, state) => {
			state.storage.sql.exec("ALTER TABLE feedback_seen_away RENAME TO feedback_seen");
		});
		const feedback = await settledFeedback(name, 4);
		expect(feedback.candidate).toMatchObject({ n: 1, mean: 0 });
	});

	it("refuses feedback past the shard's share of FEEDBACK_SEEN_LIMIT and says the shard is full", async () => {
		const name = uniqueName("fb-cap");
		// 1,000 in tests over 4 shards: 250 each.
		await runInDurableObject(shard(name, 1), (_instance, state) => {
			for (let i = 0; i < 250; i++)
				state.storage.sql.exec(
					"INSERT INTO feedback_seen (day, key) VALUES (?, ?)",
					Math.floor(NOW / 86_400_000),
					`seed-${i}`,
				);
		});
		const ack = await shard(name, 1).ingest([
			batchOf("i.1", [], [feedbackItem("mac-3", unitOn(1), 1)]),
		]);
		expect(ack.full).toEqual([1]);
		expect(await shard(name, 1).forward([feedbackItem("mac-4", unitOn(1), 1)], 4)).toEqual({
			full: true,
		});
		expect((await settledFeedback(name, 4)).candidate.n).toBe(0);
	});
});

describe("shard storage and its alarm", () => {
	it("caps shadow samples as they are written", async () => {
		const name = uniqueName("samples");
		// The object cannot take pushes for now: the samples stay in the shard.
		await runInDurableObject(store(name), (_instance, state) => {
			state.storage.sql.exec("ALTER TABLE staged_rows RENAME TO staged_rows_away");
		});
		const pending = new PendingBatch(NOW, 20, 4);
		for (let i = 0; i < 12; i++) {
			pending.addComparison({
				deployment: name,
				time: NOW + i,
				threshold: 0,
				epoch: 0,
				inputHash: `h${i}`,
				championOutput: "{}",
				candidateOutput: "{}",
				championLatencyMs: 1,
				candidateLatencyMs: 2,
				candidateOutcome: "ok",
				agreed: true,
			});
		}
		await shard(name, 0).ingest([pending.toShardBatch(batchId(NOW, "i", 1))]);
		const kept = await runInDurableObject(
			shard(name, 0),
			(_instance, state) =>
				state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pending_samples").one().n,
		);
		// SHADOW_SAMPLE_LIMIT is 5 in tests, split over the batch's 4 shards: 2 each.
		expect(kept).toBe(2);
		await runInDurableObject(store(name), (_instance, state) => {
			state.storage.sql.exec("ALTER TABLE staged_rows_away RENAME TO staged_rows");
		});
		await settled(name, 4);
		const samples = await store(name).shadowSamples(100);
		expect(samples.map((s) => s.inputHash)).toEqual(["h11", "h10"]);
	});

	it("forgets old batch ids and de-duplication keys in its alarm, and re-arms after a failure", async () => {
		const name = uniqueName("shard-retention");
		await shard(name, 0).ingest([batchOf(batchId(NOW, "i", 1), champions(name, 1))]);
		await settled(name, 4);
		const count = (state: DurableObjectState, table: string) =>
			state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
		await runInDurableObject(shard(name, 0), (_instance, state) => {
			const sql = state.storage.sql;
			sql.exec("INSERT INTO ingest_batches (id) VALUES (?)", batchId(NOW - 2 * 3600_000, "old", 1));
			const day = Math.floor(NOW / 86_400_000);
			sql.exec("INSERT INTO feedback_seen (day, key) VALUES (?, 'old')", day - 8);
			sql.exec("INSERT INTO feedback_seen (day, key) VALUES (?, 'new')", day);
			sql.exec("UPDATE shard_jobs SET due_at = 0 WHERE job = 'retention'");
		});
		expect(await runDurableObjectAlarm(shard(name, 0))).toBe(true);
		await runInDurableObject(shard(name, 0), async (_instance, state) => {
			expect(count(state, "ingest_batches")).toBe(1);
			expect(count(state, "feedback_seen")).toBe(1);
			expect(await state.storage.getAlarm()).not.toBeNull();
			state.storage.sql.exec("DROP TABLE ingest_batches");
			state.storage.sql.exec("UPDATE shard_jobs SET due_at = 0 WHERE job = 'retention'");
		});
		expect(await runDurableObjectAlarm(shard(name, 0))).toBe(true);
		await runInDurableObject(shard(name, 0), async (_instance, state) => {
			const due = state.storage.sql
				.exec<{ due_at: number }>("SELECT due_at FROM shard_jobs WHERE job = 'retention'")
				.one().due_at;
			expect(due).toBeGreaterThan(Date.now());
			expect(await state.storage.getAlarm()).not.toBeNull();
		});
	});
});

describe("shard retention of de-duplication keys", () => {
	it("deletes expired keys in bounded runs, leaving the window's keys", async () => {
		const name = uniqueName("shard-seen-chunks");
		await runInDurableObject(shard(name, 0), (_instance, state) => {
			const sql = state.storage.sql;
			const day = Math.floor(NOW / 86_400_000);
			for (let i = 0; i < 25; i++)
				sql.exec(
					"INSERT INTO feedback_seen (day, key) VALUES (?, ?)",
					day - 9 + (i % 2),
					`old-${i}`,
				);
			sql.exec("INSERT INTO feedback_seen (day, key) VALUES (?, 'new')", day);
			const policy = {
				batchesBefore: NOW - 3600_000,
				seenBefore: NOW - 7 * 86_400_000,
				minuteBefore: 0,
				seenChunk: 10,
			};
			expect(pruneShard(sql, policy)).toMatchObject({ seen: 10, more: true });
			expect(pruneShard(sql, policy)).toMatchObject({ seen: 10, more: true });
			expect(pruneShard(sql, policy)).toMatchObject({ seen: 5, more: false });
			expect(pruneShard(sql, policy)).toMatchObject({ seen: 0, more: false });
			const keys = sql.exec<{ key: string }>("SELECT key FROM feedback_seen").toArray();
			expect(keys.map((k) => k.key)).toEqual(["new"]);
		});
	});
});

describe("the shard count", () => {
	it("is refused as a change on a live deployment unless ?rebucket=true (feedback de-duplication moves)", async () => {
		const name = uniqueName("reshard");
		await deploy(name, 50, { ingest: { shards: 2 } });
		const changed = spec(name, { ingest: { shards: 4 } });
		const refused = await adminJson<Record<string, unknown>>(
			"PUT",
			`/deployments/${name}`,
			changed,
		);
		expect(refused.status).toBe(409);
		expect(refused.body).toMatchObject({
			error: { code: "rebucket_refused", details: { from: { shards: 2 }, to: { shards: 4 } } },
		});
		expect((await admin("PUT", `/deployments/${name}?rebucket=true`, changed)).status).toBe(200);
	});
});

describe("exactly once under seeded chaos", () => {
	it("merged aggregates equal the truth whatever is retried, lost, repeated or read concurrently", async () => {
		const name = uniqueName("chaos");
		const random = createRandom(20_261_202);
		const pick = (n: number) => Math.floor(random.uniform() * n);
		const truth: Record<"champion" | "candidate", VariantAggregate> = {
			champion: emptyAggregate(),
			candidate: emptyAggregate(),
		};
		let feedbackTruth: Moments = { n: 0, mean: 0, m2: 0 };
		const sent: { batch: ShardBatch; shard: number }[] = [];
		const sentFeedback: FeedbackItem[] = [];
		const pushed: { shard: number; payload: ShardPush }[] = [];
		let next = 0;
		for (let step = 0; step < 160; step++) {
			const action = random.uniform();
			if (action < 0.45) {
				const observations = Array.from({ length: 1 + pick(30) }, () =>
					observation(
						name,
						random.uniform() < 0.5 ? "champion" : "candidate",
						1 + pick(500),
						random.uniform() < 0.05 ? "http_5xx" : "ok",
						NOW - pick(3) * MINUTE,
					),
				);
				const feedback: FeedbackItem[] = [];
				for (let i = 0; i < pick(4); i++) {
					// New values, or a value already sent again (a client retrying).
					const again = sentFeedback.length > 0 && random.uniform() < 0.3;
					const item = again
						? (sentFeedback[pick(sentFeedback.length)] as FeedbackItem)
						: feedbackItem(`mac-${next++}`, unitOn(pick(4)), random.uniform());
					if (!again) {
						sentFeedback.push(item);
						feedbackTruth = mergeMoments(feedbackTruth, { n: 1, mean: item.value, m2: 0 });
					}
					feedback.push(item);
				}
				for (const o of observations) addObservation(truth[o.variant as "champion"], o);
				const batch = batchOf(`chaos.${next++}`, observations, feedback);
				const target = pick(4);
				sent.push({ batch, shard: target });
				await shard(name, target).ingest([batch]);
			} else if (action < 0.6 && sent.length > 0) {
				// A retry whose first answer was lost: the same batch to the same shard.
				const { batch, shard: target } = sent[pick(sent.length)] as (typeof sent)[number];
				expect((await shard(name, target).ingest([batch])).duplicates).toBe(1);
			} else if (action < 0.7) {
				// A push the object staged but whose answer the shard never heard, from the shard's own
				// cursor, or built from a stale one (refused unless it happens to be current).
				const target = pick(4);
				const cursor: ShardCursor =
					random.uniform() < 0.7
						? await runInDurableObject(shard(name, target), (_i, state) => {
								const meta = shardMeta(state.storage.sql);
								return { incarnation: meta.incarnation, generation: meta.acked };
							})
						: { incarnation: null, generation: 0 };
				const payload = await shard(name, target).pull(cursor);
				await store(name).stage(target, payload);
				pushed.push({ shard: target, payload });
			} else if (action < 0.8 && pushed.length > 0) {
				// A push arriving once more, late; or the shard's own push now.
				const { shard: target, payload } = pushed[pick(pushed.length)] as (typeof pushed)[number];
				if (random.uniform() < 0.5) await store(name).stage(target, payload);
				else await pushNow(name, target);
			} else if (action < 0.9) {
				// Reads (each folds the staging) at the same time.
				await Promise.all([
					store(name).aggregates(0, NOW + MINUTE),
					store(name).series(0, NOW + MINUTE),
					store(name).feedback(0, NOW + MINUTE),
				]);
			} else {
				// A hand-off repeated after its answer was lost.
				const item = sentFeedback[pick(Math.max(1, sentFeedback.length))];
				if (item) await shard(name, item.shard).forward([item], 4);
			}
		}
		// Shards whose last push was played by the test have no push scheduled: let them push.
		for (let i = 0; i < 4; i++) await pushNow(name, i);
		await settled(name, 4);
		const t = await totals(name);
		for (const variant of ["champion", "candidate"] as const) {
			expect(t[variant].requests).toBe(truth[variant].requests);
			expect(t[variant].errors5xx).toBe(truth[variant].errors5xx);
			expect(t[variant].latency.n).toBe(truth[variant].latency.n);
			expect(t[variant].latency.mean).toBeCloseTo(truth[variant].latency.mean, 9);
			expect(t[variant].latency.m2 / truth[variant].latency.m2).toBeCloseTo(1, 9);
			expect(t[variant].histogram).toEqual(truth[variant].histogram);
		}
		expect(truth.champion.requests + truth.candidate.requests).toBeGreaterThan(500);
		const feedback = await settledFeedback(name, 4);
		expect(feedback.candidate.n).toBe(feedbackTruth.n);
		expect(feedback.candidate.mean).toBeCloseTo(feedbackTruth.mean, 9);
		expect(feedbackTruth.n).toBeGreaterThan(20);
	});
});

/** Waits until a buffer driven with immediate flushes has nothing in flight. */
async function settleBuffer(buffer: IngestBuffer): Promise<void> {
	await vi.waitFor(
		() => {
			if (!buffer.idle()) throw new Error("still flushing");
		},
		{ timeout: 5000, interval: 10 },
	);
}
