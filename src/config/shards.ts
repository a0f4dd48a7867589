/**
 * How many ingest shards a deployment has (the spec's `ingest.shards`).
 * Warning: feedback de-duplication is partitioned by the shard count; see
 * the spec's `ingest.shards` before changing it on a live deployment.
 */

/** Shards per deployment when the spec does not say. */
export const DEFAULT_SHARDS = 2;
export const MAX_SHARDS = 64;
