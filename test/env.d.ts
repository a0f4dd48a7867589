/** Bindings only the test worker has (see vitest.config.ts): stub model backends. */
declare namespace Cloudflare {
	interface Env {
		MODEL_BROKEN: Fetcher;
		MODEL_SLOW: Fetcher;
		MODEL_ECHO: Fetcher;
		MODEL_GATE: Fetcher;
		/** The backend of the adapters' conformance suite (test/workers/conformance.ts). */
		MODEL_CONFORMANCE: Fetcher;
		MODEL_CHAT_V1: Fetcher;
		MODEL_CHAT_V2: Fetcher;
		MODEL_CHAT_SLOW_TTFT: Fetcher;
		MODEL_CHAT_BROKEN: Fetcher;
		MODEL_CHAT_LONG: Fetcher;
		/** The test webhook receiver (test/workers/webhooks.ts). */
		HOOKS: Fetcher;
	}
}
