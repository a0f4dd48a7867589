/**
 * The ingest path's load test: many simulated isolates — the real recorder
 * (IngestBuffer), one per isolate, on a shared virtual clock — record a
 * deployment's predictions and feedback and flush them concurrently to its
 * real ingest shards in workerd (Miniflare, the `wrangler deploy` bundle);
 * the shards hand feedback on and push to the deployment object as in
 * production. Then the object's tables are compared with the truth (every
 * observation and feedback value folded directly): counts and histograms
 * must be equal exactly, means and M2 to floating-point rounding. It
 * reports the requests each shard took per (virtual) second, next to what
 * the capacity model predicts for the same traffic, and how fast workerd
 * took them (wall clock).
 *
 * Deterministic for a seed: arrivals, variants, latencies, units, the
 * isolates' first shards and the repeated feedback are drawn from it.
 */
import { join } from "node:path";
import { DEFAULT_SHARDS } from "../../src/config/shards";
import {
	type FeedbackItem,
	type IngestAck,
	type ShardBatch,
	shardName,
	shardOfUnit,
} from "../../src/ingest/protocol";
import {
	type AggregateRow,
	addObservation,
	emptyAggregate,
	type FeedbackAggregate,
	mergeRows,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import type { Observation } from "../../src/metrics/observation";
import { IngestBuffer, type IngestHost } from "../../src/metrics/recorder";
import { type Moments, mergeMoments } from "../../src/stats";
import { capacity } from "../capacity/model";
import { createRandom } from "../lib/random";
import { buildRouter, startStack } from "../lib/stack";
import { VirtualClock } from "../lib/virtual-clock";

export interface LoadOptions {
	workDir: string;
	/** Simulated isolates, each with its own recorder. */
	isolates: number;
	/** Virtual seconds of traffic. */
	seconds: number;
	/** Predictions per second per isolate. */
	rate: number;
	/** Feedback values per prediction. */
	feedbackShare: number;
	/** Share of feedback values sent again by another isolate (a client retrying). */
	duplicateShare: number;
	shards: number;
	seed: number;
	log?: (message: string) => void;
}

export const DEFAULT_LOAD: Omit<LoadOptions, "workDir"> = {
	isolates: 200,
	seconds: 60,
	rate: 20,
	feedbackShare: 0.1,
	duplicateShare: 0.05,
	shards: DEFAULT_SHARDS,
	seed: 1,
};

export interface LoadResult {
	options: Omit<LoadOptions, "workDir" | "log">;
	predictions: number;
	feedbackValues: number;
	/** Flush calls the isolates made, and their batches (a call carries one, or a retry with it). */
	flushRequests: number;
	/**
	 * Flush calls each shard took per virtual second once every isolate is
	 * running (after 10 s): the mean over shards and the busiest.
	 */
	perShardRequestsPerSecond: { mean: number; max: number };
	/** The capacity model's flush calls per shard per second for the same traffic. */
	modelPerShardRequestsPerSecond: number;
	/** Wall-clock seconds the traffic took to drive, and flush calls per wall second. */
	wallSeconds: number;
	flushRequestsPerWallSecond: number;
	/** Every count and histogram equal, every mean and M2 equal to rounding. */
	exact: boolean;
	mismatches: string[];
	truth: { champion: number; candidate: number; feedback: number };
}

const MINUTE = 60_000;
/** Flush calls are counted from here on: two flush intervals, isolates started and out of phase. */
const WARM_UP_MS = 10_000;
const DEPLOYMENT = "load-test";
const WEIGHT_BP = 2000; // 20 % on the candidate

interface ShardStub {
	ingest(batches: ShardBatch[]): Promise<IngestAck>;
}
interface ObjectStub {
	aggregates(fromMs: number, toMs: number): Promise<AggregateRow[]>;
	feedback(fromMs: number, toMs: number): Promise<FeedbackAggregate>;
}

export async function runIngestLoad(options: LoadOptions): Promise<LoadResult> {
	const log = options.log ?? (() => {});
	log("building the router (wrangler deploy --dry-run) …");
	const routerDir = buildRouter(join(options.workDir, "router"));
	const stack = await startStack({
		routerDir,
		serviceBindings: {},
		// Hand-offs and pushes quickly, so the end state is reached soon after the traffic.
		vars: { INGEST_FORWARD_MS: "200", INGEST_PUSH_MS: "200", FEEDBACK_SEEN_LIMIT: "100000000" },
	});
	try {
		const shards = await stack.miniflare.getDurableObjectNamespace("INGEST");
		const objects = await stack.miniflare.getDurableObjectNamespace("DEPLOYMENT");
		// Stubs and their methods resolved once, before the load: the first use of each Miniflare
		// proxy (a stub, a method) is a synchronous round trip through a worker thread, which on a
		// loaded machine has failed Miniflare's own message-id check; calls after it are async.
		const ingestTo = Array.from(
			{ length: options.shards },
			(_, index) =>
				(shards.get(shards.idFromName(shardName(DEPLOYMENT, index))) as unknown as ShardStub)
					.ingest,
		);
		const stub = objects.get(objects.idFromName(DEPLOYMENT)) as unknown as ObjectStub;
		const object = { aggregates: stub.aggregates, feedback: stub.feedback };

		const random = createRandom(options.seed);
		const start = Math.floor(Date.now() / MINUTE) * MINUTE;
		const clock = new VirtualClock(start);
		const calls = new Array<number>(options.shards).fill(0);
		// Calls in the measured window: after a warm-up, isolates' flushes are out of phase.
		const measured = new Array<number>(options.shards).fill(0);
		const warmUp = start + WARM_UP_MS;
		const end = start + options.seconds * 1000;
		const host: IngestHost = {
			limits: { batchSize: 1000, flushMs: 5000 },
			async send(_deployment, shard, batches) {
				calls[shard] = (calls[shard] ?? 0) + 1;
				if (clock.now() >= warmUp && clock.now() < end)
					measured[shard] = (measured[shard] ?? 0) + 1;
				const ingest = ingestTo[shard];
				if (!ingest) throw new Error(`no shard ${shard}`);
				return ingest(batches);
			},
			later: clock.later,
			keep: clock.keep,
		};
		const buffers = Array.from(
			{ length: options.isolates },
			(_, i) => new IngestBuffer({ now: clock.now, id: `iso${i}`, random: random.uniform }),
		);
		// Isolates start at random moments within a flush interval, as they do.
		const startsAt = buffers.map(() => start + Math.floor(random.uniform() * 5000));

		const truth = new Map<string, VariantAggregate>();
		let feedbackTruth: Record<"champion" | "candidate", Moments> = {
			champion: { n: 0, mean: 0, m2: 0 },
			candidate: { n: 0, mean: 0, m2: 0 },
		};
		const sentFeedback: { item: FeedbackItem; from: number }[] = [];
		let predictions = 0;
		let feedbackValues = 0;
		let keys = 0;
		const step = 100;
		log(
			`driving ${options.isolates} isolates × ${options.rate} predictions/s for ${options.seconds} virtual s into ${options.shards} shards …`,
		);
		const wallStarted = performance.now();
		while (clock.now() < end) {
			const t = clock.now();
			for (let i = 0; i < buffers.length; i++) {
				const buffer = buffers[i] as IngestBuffer;
				if (t < (startsAt[i] as number)) continue;
				const arrivals = random.poisson((options.rate * step) / 1000);
				for (let a = 0; a < arrivals; a++) {
					const time = t + Math.floor(random.uniform() * step);
					const unit = Math.floor(random.uniform() * 2 ** 32)
						.toString(16)
						.padStart(8, "0");
					const variant = Number.parseInt(unit, 16) % 10_000 < WEIGHT_BP ? "candidate" : "champion";
					const failed = random.uniform() < (variant === "candidate" ? 0.02 : 0.01);
					const o: Observation = {
						deployment: DEPLOYMENT,
						variant,
						threshold: WEIGHT_BP,
						epoch: 0,
						time,
						outcome: failed ? "http_5xx" : "ok",
						status: failed ? 503 : 200,
						latencyMs: random.logNormal(variant === "candidate" ? 90 : 80, 0.5),
						fallback: false,
					};
					buffer.observe(host, o, options.shards);
					const key = `${Math.floor(time / MINUTE)}|${variant}`;
					let aggregate = truth.get(key);
					if (!aggregate) {
						aggregate = emptyAggregate();
						truth.set(key, aggregate);
					}
					addObservation(aggregate, o);
					predictions += 1;
					if (random.uniform() < options.feedbackShare) {
						const item: FeedbackItem = {
							key: `mac-${options.seed}-${keys++}`,
							variant,
							fallback: false,
							requestTime: time,
							value: random.uniform() < (variant === "candidate" ? 0.55 : 0.5) ? 1 : 0,
							epoch: 0,
							shard: shardOfUnit(unit, options.shards),
						};
						buffers[Math.floor(random.uniform() * buffers.length)]?.feedback(
							host,
							DEPLOYMENT,
							options.shards,
							item,
						);
						feedbackTruth = {
							...feedbackTruth,
							[variant]: mergeMoments(feedbackTruth[variant], { n: 1, mean: item.value, m2: 0 }),
						};
						feedbackValues += 1;
						sentFeedback.push({ item, from: i });
					}
					if (
						sentFeedback.length > 0 &&
						random.uniform() < options.duplicateShare * options.feedbackShare
					) {
						// A client sends a value again; another isolate takes it. Counted once.
						const again = sentFeedback[Math.floor(random.uniform() * sentFeedback.length)];
						if (again)
							buffers[(again.from + 1) % buffers.length]?.feedback(
								host,
								DEPLOYMENT,
								options.shards,
								again.item,
							);
					}
				}
			}
			await clock.advance(t + step, step);
		}
		// Every open batch goes out within the flush interval.
		await clock.advance(end + 10_000, step);
		const wallSeconds = (performance.now() - wallStarted) / 1000;
		const flushRequests = calls.reduce((s, c) => s + c, 0);
		log(
			`${flushRequests} flush calls in ${wallSeconds.toFixed(1)} s; waiting for the shards to push …`,
		);

		const expectedRequests = predictions;
		const range = [start - MINUTE, end + 2 * MINUTE] as const;
		const deadline = Date.now() + 60_000;
		let rows: AggregateRow[] = [];
		let feedback: FeedbackAggregate | null = null;
		for (;;) {
			rows = await object.aggregates(...range);
			feedback = await object.feedback(...range);
			const stored = mergeRows(rows, "champion").requests + mergeRows(rows, "candidate").requests;
			const fed = feedback.champion.n + feedback.candidate.n;
			if ((stored >= expectedRequests && fed >= feedbackValues) || Date.now() > deadline) break;
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
		// Settle a little longer: anything counted twice would show up now.
		await new Promise((resolve) => setTimeout(resolve, 1000));
		rows = await object.aggregates(...range);
		feedback = await object.feedback(...range);

		const mismatches = compare(truth, rows, feedbackTruth, feedback);
		// Rates after the warm-up (isolates out of phase), as the model's steady state.
		const perShard = measured.map((c) => (c * 1000) / (end - warmUp));
		const model = capacity(
			{
				rps: options.isolates * options.rate,
				deployments: 1,
				isolates: options.isolates,
				feedbackShare: options.feedbackShare * (1 + options.duplicateShare),
				shards: options.shards,
			},
			undefined,
		);
		return {
			options: {
				isolates: options.isolates,
				seconds: options.seconds,
				rate: options.rate,
				feedbackShare: options.feedbackShare,
				duplicateShare: options.duplicateShare,
				shards: options.shards,
				seed: options.seed,
			},
			predictions,
			feedbackValues,
			flushRequests,
			perShardRequestsPerSecond: {
				mean: perShard.reduce((s, x) => s + x, 0) / perShard.length,
				max: Math.max(...perShard),
			},
			modelPerShardRequestsPerSecond: model.requestsPerSecond.ingestShard.flushes,
			wallSeconds,
			flushRequestsPerWallSecond: flushRequests / wallSeconds,
			exact: mismatches.length === 0,
			mismatches,
			truth: {
				champion: sumRequests(truth, "champion"),
				candidate: sumRequests(truth, "candidate"),
				feedback: feedbackValues,
			},
		};
	} finally {
		await stack.dispose();
	}
}

function sumRequests(truth: Map<string, VariantAggregate>, variant: string): number {
	let total = 0;
	for (const [key, aggregate] of truth)
		if (key.endsWith(`|${variant}`)) total += aggregate.requests;
	return total;
}

/** What differs between the truth and the object's tables (empty when exact). */
function compare(
	truth: Map<string, VariantAggregate>,
	rows: readonly AggregateRow[],
	feedbackTruth: Record<"champion" | "candidate", Moments>,
	feedback: FeedbackAggregate,
): string[] {
	const out: string[] = [];
	for (const variant of ["champion", "candidate"] as const) {
		let expected = emptyAggregate();
		for (const [key, aggregate] of truth) {
			if (!key.endsWith(`|${variant}`)) continue;
			const merged = emptyAggregate();
			addInto(merged, expected);
			addInto(merged, aggregate);
			expected = merged;
		}
		const stored = mergeRows(rows, variant);
		for (const field of [
			"requests",
			"errors5xx",
			"timeouts",
			"networkErrors",
			"fallbacks",
		] as const) {
			if (stored[field] !== expected[field])
				out.push(`${variant}.${field}: stored ${stored[field]}, truth ${expected[field]}`);
		}
		if (stored.latency.n !== expected.latency.n)
			out.push(`${variant}.latency.n: stored ${stored.latency.n}, truth ${expected.latency.n}`);
		if (
			!close(stored.latency.mean, expected.latency.mean) ||
			!close(stored.latency.m2, expected.latency.m2)
		)
			out.push(`${variant}.latency moments differ beyond rounding`);
		const buckets = new Set([...Object.keys(stored.histogram), ...Object.keys(expected.histogram)]);
		for (const bucket of buckets) {
			const a = stored.histogram[Number(bucket)] ?? 0;
			const b = expected.histogram[Number(bucket)] ?? 0;
			if (a !== b) out.push(`${variant}.histogram[${bucket}]: stored ${a}, truth ${b}`);
		}
		const fb = feedback[variant];
		const fe = feedbackTruth[variant];
		if (fb.n !== fe.n) out.push(`${variant}.feedback.n: stored ${fb.n}, truth ${fe.n}`);
		if (!close(fb.mean, fe.mean) || !close(fb.m2, fe.m2))
			out.push(`${variant}.feedback moments differ beyond rounding`);
	}
	return out;
}

/** Adds `b`'s counts, moments and histogram into `a` (for the truth only). */
function addInto(a: VariantAggregate, b: VariantAggregate): void {
	a.requests += b.requests;
	a.errors5xx += b.errors5xx;
	a.timeouts += b.timeouts;
	a.networkErrors += b.networkErrors;
	a.fallbacks += b.fallbacks;
	a.latency = mergeMoments(a.latency, b.latency);
	for (const [bucket, count] of Object.entries(b.histogram))
		a.histogram[Number(bucket)] = (a.histogram[Number(bucket)] ?? 0) + count;
}

function close(a: number, b: number): boolean {
	return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}
