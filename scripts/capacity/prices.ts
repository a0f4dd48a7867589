/**
 * Cloudflare's published prices and limits that `npm run capacity` uses, in
 * one place. USD, Workers Paid plan, Standard usage model; the marginal price
 * beyond the monthly inclusions (which are listed for reference and left out
 * of the per-million figures).
 *
 * Read on 2026-12-02 from stored copies of Cloudflare's documentation (the
 * published pages below, and their sources in github.com/cloudflare/cloudflare-docs:
 * src/content/docs/workers/platform/pricing.mdx,
 * src/content/partials/workers/kv_pricing.mdx,
 * src/content/partials/durable-objects/durable-objects-pricing.mdx,
 * src/content/partials/durable-objects/do-faq-limits.mdx,
 * src/content/docs/workers/platform/limits.mdx). Check the live pages before
 * relying on a number: prices change.
 */

export const PRICES_READ_ON = "2026-12-02";

export const WORKERS = {
	source: "https://developers.cloudflare.com/workers/platform/pricing/",
	subscriptionPerMonth: 5,
	/** Inbound requests; subrequests (KV, Durable Objects, service bindings) are not billed as requests. */
	requestsPerMillion: 0.3,
	includedRequestsPerMonth: 10_000_000,
	cpuPerMillionMs: 0.02,
	includedCpuMsPerMonth: 30_000_000,
} as const;

export const KV = {
	source: "https://developers.cloudflare.com/kv/platform/pricing/",
	readsPerMillion: 0.5,
	includedReadsPerMonth: 10_000_000,
	writesPerMillion: 5,
	deletesPerMillion: 5,
	listsPerMillion: 5,
	storagePerGbMonth: 0.5,
	/**
	 * Not confirmed: whether a bulk read (get with an array of keys) is billed
	 * as one read or one per key. The pages read say neither; the model counts
	 * one read per key (the conservative choice) and reports requests too.
	 */
	bulkReadsBilledPerKey: true,
} as const;

export const DURABLE_OBJECTS = {
	source: "https://developers.cloudflare.com/durable-objects/platform/pricing/",
	/** HTTP requests, RPC calls (each method call on a stub) and alarm invocations. */
	requestsPerMillion: 0.15,
	includedRequestsPerMonth: 1_000_000,
	/** Wall-clock while active, billed at 128 MB per object whatever it uses. */
	durationPerMillionGbSeconds: 12.5,
	includedGbSecondsPerMonth: 400_000,
	memoryGb: 0.128,
	/** SQLite storage backend. */
	rowsReadPerMillion: 0.001,
	includedRowsReadPerMonth: 25_000_000_000,
	/** Deletes count as rows written; each setAlarm() is one row written. */
	rowsWrittenPerMillion: 1,
	includedRowsWrittenPerMonth: 50_000_000,
	storagePerGbMonth: 0.2,
	includedStorageGbMonth: 5,
} as const;

export const LIMITS = {
	source: "https://developers.cloudflare.com/durable-objects/platform/limits/",
	/** "An individual Object has a soft limit of 1,000 requests per second." */
	objectSoftLimitPerSecond: 1000,
	/** Switchyard's own ceiling per object: half the soft limit. */
	objectTargetPerSecond: 500,
	/** Storage per SQLite-backed object. */
	objectStorageBytes: 10 * 1024 ** 3,
	/**
	 * Subrequests per invocation on Workers Paid: 10,000 on the current limits
	 * page, 1,000 on older copies (the cron makes one per deployment).
	 */
	subrequestsPerInvocation: 10_000,
} as const;
