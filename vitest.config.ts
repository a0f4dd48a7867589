import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { BUILD_DIR } from "./test/global-setup.ts";
import {
	TEST_ADMIN_TOKEN,
	TEST_BACKEND_KEY,
	TEST_FEEDBACK_TOKEN,
	TEST_SIGNING_KEY,
	TEST_WEBHOOK_SECRET,
} from "./test/helpers/secrets.ts";

const compatibilityDate = "2026-04-20";

// wrangler.toml declares these secrets as required; tests provide their own.
process.env.ADMIN_TOKEN ??= TEST_ADMIN_TOKEN;
process.env.SIGNING_KEY ??= TEST_SIGNING_KEY;
process.env.FEEDBACK_TOKEN ??= TEST_FEEDBACK_TOKEN;
process.env.WEBHOOK_SECRET ??= TEST_WEBHOOK_SECRET;

/** A demo model as an auxiliary worker, with its fault-injection knobs. */
function model(
	name: string,
	build: string,
	knobs: { ERROR_RATE?: string; EXTRA_LATENCY_MS?: string } = {},
) {
	return {
		name,
		modules: true,
		scriptPath: `${BUILD_DIR}/${build}.js`,
		compatibilityDate,
		bindings: { ERROR_RATE: "0", EXTRA_LATENCY_MS: "0", ...knobs },
	};
}

/** The demo chat model as an auxiliary worker: fast by default (TTFT 40 ms, 400 tokens/s). */
function chat(name: string, knobs: Record<string, string>) {
	return {
		name,
		modules: true,
		scriptPath: `${BUILD_DIR}/chat.js`,
		compatibilityDate,
		bindings: { TTFT_MS: "40", TOKENS_PER_SECOND: "400", ERROR_RATE: "0", ...knobs },
	};
}

/**
 * Test and hook timeouts are guards against a hang, not time budgets: tests
 * wait for conditions (test/helpers/wait.ts), and on a loaded machine (other
 * suites running, CPU-bound neighbours) the same work takes several times
 * longer. Vitest's 5 s default failed there.
 */
const GUARDS = {
	testTimeout: 60_000,
	hookTimeout: 60_000,
	expect: { poll: { timeout: 30_000, interval: 50 } },
};

export default defineConfig({
	test: {
		// Worker logs (controller runs, expected errors) only for tests that fail.
		silent: "passed-only",
		projects: [
			{
				test: {
					name: "unit",
					include: ["test/unit/**/*.test.ts"],
					environment: "node",
					...GUARDS,
				},
			},
			{
				test: {
					name: "scripts",
					include: ["test/scripts/**/*.test.ts", "test/browser/**/*.test.ts"],
					environment: "node",
					...GUARDS,
					testTimeout: 120_000,
					hookTimeout: 180_000,
				},
			},
			{
				plugins: [
					cloudflareTest({
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								ADMIN_TOKEN: TEST_ADMIN_TOKEN,
								SIGNING_KEY: TEST_SIGNING_KEY,
								FEEDBACK_TOKEN: TEST_FEEDBACK_TOKEN,
								WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
								// A backend credential (a spec's backend `auth.secret`).
								BACKEND_KEY: TEST_BACKEND_KEY,
								// Webhook retries within a test: 200 ms, 400 ms, … 6 attempts in about 6 s.
								WEBHOOK_RETRY_BASE_MS: "200",
								WEBHOOK_MAX_ATTEMPTS: "6",
								// Every request re-reads KV, so tests see their writes at once.
								CONFIG_TTL_SECONDS: "0",
								METRICS_FLUSH_MS: "0",
								SHADOW_SAMPLE_LIMIT: "5",
								// The smallest cap, so a test can fill it.
								FEEDBACK_SEEN_LIMIT: "1000",
								// Feedback handed between ingest shards, and shards' data pushed to the
								// deployment object, at once.
								INGEST_FORWARD_MS: "0",
								INGEST_PUSH_MS: "0",
								// Short, so a candidate streaming past it is seen quickly.
								SHADOW_BUDGET_MS: "1000",
							},
							serviceBindings: {
								MODEL_BROKEN: "sentiment-broken",
								MODEL_SLOW: "sentiment-slow",
								MODEL_ECHO: "echo",
								MODEL_GATE: "gate",
								MODEL_CONFORMANCE: "conformance",
								MODEL_CHAT_V1: "chat-v1",
								MODEL_CHAT_V2: "chat-v2",
								MODEL_CHAT_SLOW_TTFT: "chat-slow-ttft",
								MODEL_CHAT_BROKEN: "chat-broken",
								MODEL_CHAT_LONG: "chat-long",
								// Workers AI is remote-only: a stand-in answers env.AI.run over RPC.
								AI: { name: "ai-stub", entrypoint: "AiStub" },
								HOOKS: "webhooks",
							},
							workers: [
								model("switchyard-sentiment-v1", "sentiment-v1"),
								model("switchyard-sentiment-v2", "sentiment-v2"),
								model("switchyard-sentiment-v2-faulty", "sentiment-v2", { ERROR_RATE: "0.1" }),
								model("sentiment-broken", "sentiment-v2", { ERROR_RATE: "1" }),
								model("sentiment-slow", "sentiment-v2", { EXTRA_LATENCY_MS: "1000" }),
								// The demo chat models wrangler.toml binds (MODEL_CHAT, MODEL_CHAT_V2).
								chat("switchyard-chat", { VERSION: "chat-v1" }),
								chat("switchyard-chat-v2", { VERSION: "chat-v2" }),
								chat("switchyard-chat-v2-slow", { VERSION: "chat-v2-slow", TTFT_MS: "320" }),
								chat("chat-v1", { VERSION: "chat-v1" }),
								chat("chat-v2", { VERSION: "chat-v2" }),
								chat("chat-slow-ttft", { VERSION: "chat-v2", TTFT_MS: "160" }),
								chat("chat-broken", { VERSION: "chat-v2", MID_STREAM_ERROR_RATE: "1" }),
								// 40 tokens at 0.5 a second: an 80-second stream.
								chat("chat-long", { VERSION: "chat-v2", TOKENS_PER_SECOND: "0.5" }),
								...["echo", "gate", "conformance", "ai-stub", "webhooks"].map((name) => ({
									name,
									modules: true,
									scriptPath: `${BUILD_DIR}/${name}.js`,
									compatibilityDate,
								})),
							],
						},
					}),
				],
				test: {
					name: "workers",
					include: ["test/integration/**/*.test.ts"],
					globalSetup: ["./test/global-setup.ts", "./test/setup/http-backend.ts"],
					setupFiles: ["./test/setup/drain.ts"],
					...GUARDS,
				},
			},
		],
	},
});
