import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { BUILD_DIR } from "./test/global-setup.ts";
import { TEST_ADMIN_TOKEN, TEST_SIGNING_KEY, TEST_WEBHOOK_SECRET } from "./test/helpers/secrets.ts";

const compatibilityDate = "2026-04-20";

// wrangler.toml declares these secrets as required; tests provide their own.
process.env.ADMIN_TOKEN ??= TEST_ADMIN_TOKEN;
process.env.SIGNING_KEY ??= TEST_SIGNING_KEY;
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
				},
			},
			{
				test: {
					name: "scripts",
					include: ["test/scripts/**/*.test.ts", "test/browser/**/*.test.ts"],
					environment: "node",
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
								WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
								// Webhook retries within a test: 200 ms, 400 ms, … 6 attempts in about 6 s.
								WEBHOOK_RETRY_BASE_MS: "200",
								WEBHOOK_MAX_ATTEMPTS: "6",
								// Every request re-reads KV, so tests see their writes at once.
								CONFIG_TTL_SECONDS: "0",
								METRICS_FLUSH_MS: "0",
								SHADOW_SAMPLE_LIMIT: "5",
							},
							serviceBindings: {
								MODEL_BROKEN: "sentiment-broken",
								MODEL_SLOW: "sentiment-slow",
								MODEL_ECHO: "echo",
								MODEL_GATE: "gate",
								HOOKS: "webhooks",
							},
							workers: [
								model("switchyard-sentiment-v1", "sentiment-v1"),
								model("switchyard-sentiment-v2", "sentiment-v2"),
								model("switchyard-sentiment-v2-faulty", "sentiment-v2", { ERROR_RATE: "0.1" }),
								model("sentiment-broken", "sentiment-v2", { ERROR_RATE: "1" }),
								model("sentiment-slow", "sentiment-v2", { EXTRA_LATENCY_MS: "1000" }),
								...["echo", "gate", "webhooks"].map((name) => ({
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
					globalSetup: ["./test/global-setup.ts"],
				},
			},
		],
	},
});
