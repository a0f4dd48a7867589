/**
 * Operational settings from wrangler.toml [vars], parsed once per env object.
 * A bad value is logged and replaced by its default: settings never take the
 * worker down.
 */
import { z } from "zod";

const Settings = z.object({
	/** Isolate cache TTL for specs and states, seconds (≤ 30). */
	CONFIG_TTL_SECONDS: z.coerce.number().min(0).max(30).catch(10),
	/** Longest an observation waits in an isolate's buffer before a flush, ms. */
	METRICS_FLUSH_MS: z.coerce.number().int().min(0).max(25_000).catch(5_000),
	/** Observations per deployment that trigger a flush before the interval. */
	METRICS_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).catch(1_000),
	/** Feedback is accepted for request ids up to this many days old. */
	FEEDBACK_WINDOW_DAYS: z.coerce.number().min(0).max(365).catch(7),
	/** Days of per-minute metrics a deployment object keeps. */
	METRICS_RETENTION_DAYS: z.coerce.number().min(1).max(3650).catch(14),
	/** Shadow samples a deployment object keeps (newest first). */
	SHADOW_SAMPLE_LIMIT: z.coerce.number().int().min(1).max(100_000).catch(1_000),
	/** Bytes of each output kept in a shadow sample. */
	SHADOW_SAMPLE_BYTES: z.coerce.number().int().min(64).max(65_536).catch(2_048),
	/**
	 * Feedback de-duplication rows a deployment keeps at most, split evenly over
	 * its ingest shards (feedback beyond is refused).
	 */
	FEEDBACK_SEEN_LIMIT: z.coerce.number().int().min(1000).max(1_000_000_000).catch(100_000_000),
	/**
	 * Longest a feedback value waits in the shard an isolate flushed it to
	 * before it is handed to the shard of its unit, ms: each shard then gets at
	 * most one hand-off call per sibling per interval.
	 */
	INGEST_FORWARD_MS: z.coerce.number().int().min(0).max(10_000).catch(1_000),
	/**
	 * How often an ingest shard holding new data pushes it to the deployment
	 * object, ms: what a look sees is at most METRICS_FLUSH_MS + this old.
	 */
	INGEST_PUSH_MS: z.coerce.number().int().min(0).max(60_000).catch(10_000),
	/**
	 * How long a shadow comparison waits for the candidate after the champion's
	 * answer ended, ms; beyond it the pair is not comparable (background work
	 * lives about 30 s after the response).
	 */
	SHADOW_BUDGET_MS: z.coerce.number().int().min(100).max(30_000).catch(25_000),
	/** Bytes of each shadow response read for comparison. */
	SHADOW_COMPARE_BYTES: z.coerce.number().int().min(64).max(1_048_576).catch(65_536),
	/** Wait before the first webhook retry, ms; it doubles per attempt, up to an hour. */
	WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(0).max(3_600_000).catch(10_000),
	/** Attempts per webhook delivery before it is marked failed (12: eleven waits from 10 s, doubling, at most an hour: about 3.4 hours). */
	WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).catch(12),
	/** How long one webhook POST may take, ms. */
	WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).catch(10_000),
});
export type Settings = z.infer<typeof Settings>;

const cache = new WeakMap<object, Settings>();

export function settingsOf(env: object): Settings {
	let settings = cache.get(env);
	if (!settings) {
		settings = Settings.parse(env);
		cache.set(env, settings);
	}
	return settings;
}
