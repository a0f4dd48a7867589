/** Helpers to read a deployment's metrics (in its object, which folds what its shards pushed) in integration tests. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { DEFAULT_SHARDS } from "../../src/config/shards";
import { shardName } from "../../src/ingest/protocol";
import { mergeRows, type VariantAggregate } from "../../src/metrics/aggregate";
import { recorderIdle } from "../../src/metrics/recorder";
import { CONDITION } from "./wait";

export function store(name: string) {
	return env.DEPLOYMENT.getByName(name);
}

/** A deployment's ingest shard. */
export function shard(name: string, index: number) {
	return env.INGEST.getByName(shardName(name, index));
}

/** Merged aggregates per variant over all of time. */
export async function totals(
	name: string,
): Promise<Record<"champion" | "candidate" | "shadow", VariantAggregate>> {
	const rows = await store(name).aggregates(0, Date.now() + 120_000);
	return {
		champion: mergeRows(rows, "champion"),
		candidate: mergeRows(rows, "candidate"),
		shadow: mergeRows(rows, "shadow"),
	};
}

/** Waits until the background flushes have delivered `count` observations. */
export async function waitForRequests(
	name: string,
	count: number,
	variants: ("champion" | "candidate" | "shadow")[] = ["champion", "candidate"],
) {
	return vi.waitFor(async () => {
		const t = await totals(name);
		const total = variants.reduce((s, v) => s + t[v].requests, 0);
		if (total < count) throw new Error(`only ${total} of ${count} observations stored`);
		return t;
	}, CONDITION);
}

/**
 * Waits until `count` shadow comparisons are stored. A comparison is recorded
 * after its shadow observation (once both answers are in) and may travel in
 * another batch, so waiting for the observations is not enough.
 */
export async function waitForComparisons(name: string, count: number) {
	return vi.waitFor(async () => {
		const t = await totals(name);
		const done = t.shadow.compared + t.shadow.uncomparable;
		if (done < count) throw new Error(`only ${done} of ${count} comparisons stored`);
		return t;
	}, CONDITION);
}

/**
 * Waits until everything sent so far has reached the deployment object:
 * this isolate's recorder has nothing pending or in flight, and no shard of
 * the deployment holds feedback for a sibling or data the object has not
 * confirmed (INGEST_FORWARD_MS and INGEST_PUSH_MS are 0 in tests). Reads
 * after it are final.
 *
 * Two clean passes in a row: a value handed from a shard checked later to
 * one checked earlier can slip through one pass, never two (the sender keeps
 * it until the target has applied it).
 */
export async function settled(
	name: string,
	shards = DEFAULT_SHARDS,
	timeout: number = CONDITION.timeout,
): Promise<void> {
	const held = async () => {
		let rows = 0;
		for (let i = 0; i < shards; i++) {
			rows += await runInDurableObject(
				shard(name, i),
				(_instance, state) =>
					state.storage.sql
						.exec<{ n: number }>(
							`SELECT (SELECT COUNT(*) FROM forward_queue) + (SELECT COUNT(*) FROM pending_rows)
							 + (SELECT COUNT(*) FROM pending_feedback) + (SELECT COUNT(*) FROM pending_samples) AS n`,
						)
						.one().n,
			);
		}
		return rows;
	};
	await vi.waitFor(
		async () => {
			if (!recorderIdle()) throw new Error("the recorder still has batches pending");
			for (let pass = 0; pass < 2; pass++) {
				const rows = await held();
				if (rows > 0) throw new Error(`the shards still hold ${rows} rows`);
			}
		},
		{ timeout, interval: 20 },
	);
}

/** Feedback totals per variant once everything sent has landed. */
export async function settledFeedback(name: string, shards = DEFAULT_SHARDS) {
	await settled(name, shards);
	return store(name).feedback(0, Date.now() + 60_000);
}
