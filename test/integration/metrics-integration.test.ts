import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_SHARDS } from "../../src/config/shards";
import { emptyAggregate } from "../../src/metrics/aggregate";
import type { IngestBatch } from "../../src/metrics/batch";
import { addToHistogram } from "../../src/metrics/histogram";
import { recorderStats } from "../../src/metrics/recorder";
import { adminJson } from "../helpers/admin";
import { deploy, predict, uniqueName, Visitor } from "../helpers/edge";
import { shard, store, totals, waitForComparisons, waitForRequests } from "../helpers/metrics";

const MINUTE = 60_000;

function row(
	minute: number,
	variant: "champion" | "candidate" | "shadow",
	requests: number,
	latencies: number[] = [],
	threshold = 500,
	epoch = 0,
) {
	const aggregate = emptyAggregate();
	aggregate.requests = requests;
	for (const ms of latencies) {
		aggregate.latency = {
			n: aggregate.latency.n + 1,
			mean: aggregate.latency.mean + (ms - aggregate.latency.mean) / (aggregate.latency.n + 1),
			m2: 0,
		};
		addToHistogram(aggregate.histogram, ms);
	}
	return { minute, variant, threshold, epoch, aggregate };
}

function batch(rows: IngestBatch["rows"], samples: IngestBatch["samples"] = []): IngestBatch {
	return { rows, samples, observations: rows.reduce((s, r) => s + r.aggregate.requests, 0) };
}

describe("traffic lands in the deployment object, through its shards", () => {
	it("counts every prediction under the variant that served it, exactly", async () => {
		const name = uniqueName("exact");
		await deploy(name, 50);
		const served = { champion: 0, candidate: 0 };
		for (let i = 0; i < 60; i++) {
			const variant = await new Visitor().variant(name);
			served[variant as "champion" | "candidate"] += 1;
		}
		const t = await waitForRequests(name, 60);
		expect(t.champion.requests).toBe(served.champion);
		expect(t.candidate.requests).toBe(served.candidate);
		expect(t.champion.latency.n).toBe(served.champion);
		expect(t.candidate.errors5xx + t.champion.errors5xx).toBe(0);
	});

	it("counts candidate failures as candidate errors and fallbacks", async () => {
		const name = uniqueName("fallbacks");
		await deploy(name, 100, { candidate: { version: "v2", service: "MODEL_BROKEN" } });
		for (let i = 0; i < 5; i++) await new Visitor().variant(name);
		const t = await waitForRequests(name, 5);
		expect(t.candidate).toMatchObject({ requests: 5, errors5xx: 5, fallbacks: 5 });
		expect(t.champion.requests).toBe(0);
	});

	it("serves a complete answer of declared length whole and compares it (read before it is served)", async () => {
		const name = uniqueName("shadow-length");
		const echo = { version: "echo", service: "MODEL_ECHO" };
		await deploy(
			name,
			0,
			{
				strategy: "shadow",
				champion: echo,
				candidate: echo,
				shadow: { compare: { field: "method" } },
			},
			"shadowing",
		);
		const res = await predict(name, { headers: { "x-echo-length": "1" } });
		const body = await res.text();
		expect(res.headers.get("content-length")).toBe(
			String(new TextEncoder().encode(body).byteLength),
		);
		expect(JSON.parse(body)).toMatchObject({ method: "POST", path: "/predict" });
		await waitForComparisons(name, 1);
		const t = await waitForRequests(name, 2, ["champion", "shadow"]);
		expect(t.shadow).toMatchObject({ requests: 1, compared: 1, agreed: 1 });
		expect(t.champion).toMatchObject({ requests: 1, errors5xx: 0, streamErrors: 0 });
	});

	it("records shadow copies as their own variant, with agreement counts and samples", async () => {
		const name = uniqueName("shadow");
		await deploy(
			name,
			0,
			{ strategy: "shadow", shadow: { compare: { field: "label" } } },
			"shadowing",
		);
		const texts = ["not good at all", "a great day", "this is terrible", "not bad"];
		for (const text of texts) await new Visitor().predict(name, { text });
		await waitForComparisons(name, texts.length);
		const t = await waitForRequests(name, 2 * texts.length, ["champion", "shadow"]);
		expect(t.champion.requests).toBe(texts.length);
		expect(t.shadow.requests).toBe(texts.length);
		expect(t.shadow.compared).toBe(texts.length);
		// v1 reads "not good at all" as positive and "not bad" as negative; v2 handles negation.
		expect(t.shadow.agreed).toBe(2);
		const samples = await store(name).shadowSamples(10);
		expect(samples).toHaveLength(4);
		expect(samples[0]).toMatchObject({ candidateOutcome: "ok", agreed: expect.any(Boolean) });
		expect(JSON.parse(samples[0]?.championOutput ?? "{}")).toHaveProperty("label");
	});

	it("keeps serving predictions when its ingest shards fail, and counts the failures", async () => {
		const name = uniqueName("broken-shards");
		await deploy(name, 50);
		for (let i = 0; i < DEFAULT_SHARDS; i++) {
			await runInDurableObject(shard(name, i), (_instance, state) => {
				state.storage.sql.exec("DROP TABLE pending_rows");
			});
		}
		const failuresBefore = recorderStats.flushFailures;
		for (let i = 0; i < 5; i++) {
			const res = await new Visitor().predict(name);
			expect(res.status).toBe(200);
			await res.arrayBuffer();
		}
		await expect
			.poll(() => recorderStats.flushFailures, { timeout: 5000 })
			.toBeGreaterThan(failuresBefore);
		const counters = await adminJson<{ metrics: { flushFailures: number } }>("GET", "/isolate");
		expect(counters.body.metrics.flushFailures).toBeGreaterThan(0);
		// The object's reads and looks go on without them.
		expect((await totals(name)).champion.requests).toBe(0);
	});
});

describe("deployment object reads", () => {
	it("merges a window [from, to) per variant and threshold", async () => {
		const name = uniqueName("window");
		const m = 29_000_000;
		await store(name).ingest(
			batch([
				row(m, "champion", 10, [5, 6]),
				row(m + 1, "champion", 20, [7]),
				row(m + 1, "candidate", 3, [9], 100),
				row(m + 2, "candidate", 4, [], 500),
			]),
		);
		const rows = await store(name).aggregates((m + 1) * MINUTE, (m + 3) * MINUTE);
		const byKey = Object.fromEntries(
			rows.map((r) => [`${r.variant}@${r.threshold}`, r.aggregate.requests]),
		);
		expect(byKey).toEqual({ "champion@500": 20, "candidate@100": 3, "candidate@500": 4 });
		const all = await store(name).aggregates(m * MINUTE, (m + 3) * MINUTE);
		const champion = all.find((r) => r.variant === "champion");
		expect(champion?.aggregate.requests).toBe(30);
		expect(champion?.aggregate.latency.n).toBe(3);
		expect(champion?.aggregate.latency.mean).toBeCloseTo(6, 12);
		expect(Object.values(champion?.aggregate.histogram ?? {}).reduce((s, c) => s + c, 0)).toBe(3);
	});

	it("merges repeated batches for the same minute (Chan), as one batch would", async () => {
		const name = uniqueName("chan");
		const m = 29_000_100;
		await store(name).ingest(batch([row(m, "champion", 2, [10, 20])]));
		await store(name).ingest(batch([row(m, "champion", 1, [60])]));
		const [merged] = await store(name).aggregates(m * MINUTE, (m + 1) * MINUTE);
		expect(merged?.aggregate.requests).toBe(3);
		expect(merged?.aggregate.latency.mean).toBeCloseTo(30, 12);
	});

	it("serves a per-minute series per variant, thresholds merged", async () => {
		const name = uniqueName("series");
		const m = 29_000_200;
		await store(name).ingest(
			batch([
				row(m, "champion", 5, [1]),
				row(m, "champion", 5, [3], 100),
				row(m + 1, "candidate", 2, [4]),
			]),
		);
		const series = await store(name).series(m * MINUTE, (m + 2) * MINUTE);
		expect(series.map((r) => [r.minute - m, r.variant, r.aggregate.requests])).toEqual([
			[0, "champion", 10],
			[1, "candidate", 2],
		]);
	});
});

describe("retention alarm", () => {
	it("keeps shadow samples within their cap as they are written, and deletes old minutes in the alarm", async () => {
		const name = uniqueName("retention");
		const nowMinute = Math.floor(Date.now() / MINUTE);
		const sample = (i: number) => ({
			time: Date.now(),
			inputHash: `h${i}`,
			championOutput: "{}",
			candidateOutput: "{}",
			championLatencyMs: 1,
			candidateLatencyMs: 2,
			candidateOutcome: "ok" as const,
			agreed: true,
		});
		await store(name).ingest(
			batch(
				[row(nowMinute - 15 * 24 * 60, "champion", 7), row(nowMinute, "champion", 3)],
				Array.from({ length: 12 }, (_, i) => sample(i)),
			),
		);
		// Capped at write time (SHADOW_SAMPLE_LIMIT is 5 in tests), before any alarm runs.
		const kept = await store(name).shadowSamples(100);
		expect(kept.map((s) => s.inputHash)).toEqual(["h11", "h10", "h9", "h8", "h7"]);
		expect((await totals(name)).champion.requests).toBe(10);
		expect(await runDurableObjectAlarm(store(name))).toBe(true);
		expect((await totals(name)).champion.requests).toBe(3);
		// Data remains, so the alarm stays scheduled.
		expect(await runDurableObjectAlarm(store(name))).toBe(true);
	});
});
