/**
 * `/admin/api/isolate`: the counters of the isolate that answers (flushes to
 * the ingest shards, failures, retried batches a shard had already applied,
 * feedback queued, observations and feedback dropped; breaker trips and
 * diverted requests). Per isolate, so
 * two calls may reach two isolates; behind admin auth because they describe
 * the traffic.
 */
import { Hono } from "hono";
import { recorderStats } from "../../metrics/recorder";
import { breakerStats } from "../../routing/breaker";
import type { AppEnv } from "../../types";

export const isolate = new Hono<AppEnv>().get("/", (c) =>
	c.json({ metrics: { ...recorderStats }, breaker: { ...breakerStats } }),
);
