/**
 * Drives the controller: one deployment's look through its object (what the
 * cron sends it), or the real scheduled handler over every deployment; feeds
 * recorded observations to a deployment object.
 */
import {
	createExecutionContext,
	createScheduledController,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { epochOf, KvRolloutState } from "../../src/config/state";
import worker from "../../src/index";
import type { IngestBatch } from "../../src/metrics/batch";
import { aggregate } from "./aggregates";

/** One controller look at one deployment, exactly the call the cron makes for it. */
export function look(name: string, now = Date.now()) {
	return env.DEPLOYMENT.getByName(name).look(now);
}

/** Fires the cron trigger as the runtime would (every deployment in the file's KV), and waits. */
export async function runCron(scheduledTime = Date.now()): Promise<void> {
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ scheduledTime, cron: "* * * * *" }), env, ctx);
	await waitOnExecutionContext(ctx);
}

export async function kvState(name: string): Promise<KvRolloutState | null> {
	const raw = await env.CONFIG.get(`state:${name}`);
	return raw === null ? null : KvRolloutState.parse(JSON.parse(raw));
}

/**
 * Records healthy (or failing) traffic at the deployment's current weight, as
 * the edge would have: `total` requests split exactly by the weight, tagged
 * with the rollout epoch of the state in KV.
 */
export async function recordTraffic(
	name: string,
	weight: number,
	total: number,
	candidateErrorRate = 0,
	championErrorRate = 0,
): Promise<void> {
	const threshold = Math.round(weight * 100);
	const candidate = Math.round((total * threshold) / 10_000);
	const minute = Math.floor(Date.now() / 60_000);
	const state = await kvState(name);
	const epoch = state ? epochOf(state) : 0;
	const batch: IngestBatch = {
		rows: [
			{
				minute,
				variant: "champion",
				threshold,
				epoch,
				aggregate: aggregate(
					total - candidate,
					Math.round((total - candidate) * championErrorRate),
				),
			},
			{
				minute,
				variant: "candidate",
				threshold,
				epoch,
				aggregate: aggregate(candidate, Math.round(candidate * candidateErrorRate)),
			},
		],
		samples: [],
		observations: total,
	};
	await env.DEPLOYMENT.getByName(name).ingest(batch);
}
