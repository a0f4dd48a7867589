/** Bindings only the test worker has (see vitest.config.ts): stub model backends. */
declare namespace Cloudflare {
	interface Env {
		MODEL_BROKEN: Fetcher;
		MODEL_SLOW: Fetcher;
		MODEL_ECHO: Fetcher;
		MODEL_GATE: Fetcher;
		/** The test webhook receiver (test/workers/webhooks.ts). */
		HOOKS: Fetcher;
	}
}
