/**
 * The request path's Recorder: a bounded per-isolate buffer per deployment,
 * flushed to the deployment's object in one RPC when it holds
 * METRICS_BATCH_SIZE observations or its oldest is METRICS_FLUSH_MS old (a
 * timer in ctx.waitUntil makes sure the last batch goes out even if traffic
 * stops). Nothing here is awaited by the request, and nothing throws into it.
 *
 * Loss bound: an isolate evicted before its flush loses at most the last
 * METRICS_FLUSH_MS (default 5 s) or METRICS_BATCH_SIZE observations per
 * deployment. A failed flush is retried with the next one, up to 3 attempts,
 * then dropped and counted; the buffer never holds more than one batch per
 * deployment, and a batch is bounded by minutes × variants, not by traffic.
 */
import { settingsOf } from "../config/settings";
import { PendingBatch } from "./batch";
import type { Observation, Recorder, ShadowComparison } from "./observation";

const MAX_ATTEMPTS = 3;
const SAMPLES_PER_BATCH = 20;

interface WaitUntil {
	waitUntil(promise: Promise<unknown>): void;
}

/** Per-isolate counters, reported by /healthz. */
export const recorderStats = { flushes: 0, flushFailures: 0, droppedObservations: 0 };

const pending = new Map<string, PendingBatch>();

export function recorderFor(env: Env, ctx: WaitUntil): Recorder {
	return {
		observe(observation: Observation) {
			record(env, ctx, observation.deployment, (batch) => batch.addObservation(observation));
		},
		compare(comparison: ShadowComparison) {
			record(env, ctx, comparison.deployment, (batch) => batch.addComparison(comparison));
		},
	};
}

function record(
	env: Env,
	ctx: WaitUntil,
	deployment: string,
	add: (batch: PendingBatch) => void,
): void {
	const settings = settingsOf(env);
	const now = Date.now();
	let batch = pending.get(deployment);
	if (!batch) {
		batch = new PendingBatch(now, SAMPLES_PER_BATCH);
		pending.set(deployment, batch);
	}
	add(batch);
	const age = now - batch.firstAt;
	if (batch.observations >= settings.METRICS_BATCH_SIZE || age >= settings.METRICS_FLUSH_MS) {
		ctx.waitUntil(flush(env, deployment));
	} else if (!batch.timerArmed) {
		batch.timerArmed = true;
		const wait = settings.METRICS_FLUSH_MS - age;
		ctx.waitUntil(
			new Promise((resolve) => setTimeout(resolve, wait)).then(() => flush(env, deployment)),
		);
	}
}

/** Sends a deployment's pending batch; on failure keeps it for the next flush, within limits. */
async function flush(env: Env, deployment: string): Promise<void> {
	const batch = pending.get(deployment);
	if (!batch || batch.observations + batch.samples.length === 0) return;
	pending.delete(deployment);
	const payload = batch.toBatch();
	try {
		await env.DEPLOYMENT.getByName(deployment).ingest(payload);
		recorderStats.flushes += 1;
	} catch (error) {
		recorderStats.flushFailures += 1;
		const attempts = batch.attempts + 1;
		const requeue = attempts < MAX_ATTEMPTS;
		if (requeue) {
			const next = pending.get(deployment) ?? new PendingBatch(Date.now(), SAMPLES_PER_BATCH);
			next.absorb(payload, attempts);
			pending.set(deployment, next);
		} else {
			recorderStats.droppedObservations += payload.observations;
		}
		console.error(
			JSON.stringify({
				level: "error",
				event: "metrics_flush_failed",
				deployment,
				observations: payload.observations,
				attempt: attempts,
				action: requeue ? "kept for the next flush" : "dropped",
				message: String(error),
			}),
		);
	}
}
