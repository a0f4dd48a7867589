/**
 * Builds the demo model workers (and the test-only echo backend) from
 * TypeScript with esbuild, for the workers project's auxiliary workers, and
 * the dashboard's browser script the router imports (the plugin does not run
 * wrangler's custom build). Runs in Node before the pool starts.
 */
import { spawnSync } from "node:child_process";
import { build } from "esbuild";

export const MODEL_BUILDS = {
	"sentiment-v1": "examples/models/sentiment-v1.ts",
	"sentiment-v2": "examples/models/sentiment-v2.ts",
	echo: "test/workers/echo.ts",
	gate: "test/workers/gate.ts",
	conformance: "test/workers/conformance.ts",
	chat: "examples/models/chat.ts",
	"ai-stub": "test/workers/ai-stub.ts",
	webhooks: "test/workers/webhooks.ts",
} as const;

export const BUILD_DIR = "dist/test-workers";

export default async function setup(): Promise<void> {
	const dashboard = spawnSync(process.execPath, ["scripts/build-dashboard.mjs"], {
		encoding: "utf8",
	});
	if (dashboard.status !== 0) throw new Error(`dashboard build failed:\n${dashboard.stderr}`);
	await Promise.all(
		Object.entries(MODEL_BUILDS).map(([name, entry]) =>
			build({
				entryPoints: [entry],
				outfile: `${BUILD_DIR}/${name}.js`,
				bundle: true,
				format: "esm",
				target: "es2024",
				external: ["cloudflare:*"],
				logLevel: "warning",
			}),
		),
	);
}
