/**
 * The router and the demo models in Miniflare (workerd) without `wrangler dev`
 * in front: bundles built by `wrangler deploy --dry-run` and esbuild, real KV
 * and SQLite-backed Durable Objects, service bindings between the workers.
 * Used by `npm run bench` and the CLI tests.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { Miniflare, type WorkerOptions } from "miniflare";
import { ROOT } from "./edge";

export const COMPATIBILITY_DATE = "2026-04-20";
export const STACK_ADMIN_TOKEN = "stack-admin-token";
const STACK_SIGNING_KEY = "stack-signing-key-0123456789abcdef";
export const STACK_FEEDBACK_TOKEN = "stack-feedback-token";
export const STACK_WEBHOOK_SECRET = "stack-webhook-secret-0123456789";

/** Bundles the router exactly as `wrangler deploy` would; returns the output directory. */
export function buildRouter(outDir: string): string {
	mkdirSync(outDir, { recursive: true });
	const result = spawnSync(
		join(ROOT, "node_modules", ".bin", "wrangler"),
		["deploy", "--dry-run", "--outdir", outDir],
		{
			cwd: ROOT,
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
			encoding: "utf8",
		},
	);
	if (result.status !== 0 || !existsSync(join(outDir, "index.js"))) {
		throw new Error(`wrangler deploy --dry-run failed:\n${result.stderr || result.stdout}`);
	}
	return outDir;
}

/** Bundles a TypeScript worker with esbuild; returns the script path. */
export async function buildWorker(entry: string, outFile: string): Promise<string> {
	await build({
		entryPoints: [join(ROOT, entry)],
		outfile: outFile,
		bundle: true,
		format: "esm",
		target: "es2024",
		external: ["cloudflare:*"],
		logLevel: "warning",
	});
	return outFile;
}

export interface StackOptions {
	/** The router bundle's directory (modules root). */
	routerDir: string;
	/** The router's entry script; defaults to <routerDir>/index.js. */
	routerScript?: string;
	/** Model workers: name → script path and vars. */
	models?: Record<string, { scriptPath: string; bindings?: Record<string, string> }>;
	/** Other workers, as Miniflare options. */
	extraWorkers?: WorkerOptions[];
	/** Router service bindings (binding → worker name). */
	serviceBindings: Record<string, string>;
	/** Router [vars] overrides. */
	vars?: Record<string, string>;
	/** Also expose the router on its own socket (no Miniflare entry worker in front). */
	directSocket?: boolean;
	/** Opens workerd's inspector (V8 profiler) on this port. */
	inspectorPort?: number;
}

export interface Stack {
	url: string;
	miniflare: Miniflare;
	adminToken: string;
	feedbackToken: string;
	dispose(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
	const router: WorkerOptions = {
		name: "switchyard",
		modules: true,
		modulesRoot: options.routerDir,
		scriptPath: options.routerScript ?? join(options.routerDir, "index.js"),
		compatibilityDate: COMPATIBILITY_DATE,
		compatibilityFlags: ["enable_request_signal"],
		kvNamespaces: ["CONFIG"],
		ratelimits: { FEEDBACK_LIMITER: { simple: { limit: 60, period: 60 } } },
		durableObjects: {
			DEPLOYMENT: { className: "DeploymentObject", useSQLite: true },
			INGEST: { className: "IngestShard", useSQLite: true },
		},
		serviceBindings: options.serviceBindings,
		bindings: {
			ADMIN_TOKEN: STACK_ADMIN_TOKEN,
			SIGNING_KEY: STACK_SIGNING_KEY,
			FEEDBACK_TOKEN: STACK_FEEDBACK_TOKEN,
			WEBHOOK_SECRET: STACK_WEBHOOK_SECRET,
			CONFIG_TTL_SECONDS: "10",
			METRICS_FLUSH_MS: "5000",
			METRICS_BATCH_SIZE: "1000",
			...options.vars,
		},
		...(options.directSocket ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
	};
	const models: WorkerOptions[] = Object.entries(options.models ?? {}).map(([name, model]) => ({
		name,
		modules: true,
		modulesRoot: dirname(model.scriptPath),
		scriptPath: model.scriptPath,
		compatibilityDate: COMPATIBILITY_DATE,
		bindings: model.bindings ?? {},
	}));
	const miniflare = new Miniflare({
		host: "127.0.0.1",
		port: 0,
		unsafeTriggerHandlers: true,
		...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
		workers: [router, ...models, ...(options.extraWorkers ?? [])],
	});
	const url = (await miniflare.ready).toString().replace(/\/$/, "");
	return {
		url,
		miniflare,
		adminToken: STACK_ADMIN_TOKEN,
		feedbackToken: STACK_FEEDBACK_TOKEN,
		dispose: () => miniflare.dispose(),
	};
}

/** Builds and starts the router with the demo models v1 and v2, as `npm start` wires them. */
export async function startDemoStack(
	workDir: string,
	vars: Record<string, string> = {},
	extraWorkers: WorkerOptions[] = [],
): Promise<Stack> {
	const routerDir = buildRouter(join(workDir, "router"));
	const v1 = await buildWorker("examples/models/sentiment-v1.ts", join(workDir, "models", "v1.js"));
	const v2 = await buildWorker("examples/models/sentiment-v2.ts", join(workDir, "models", "v2.js"));
	const chat = await buildWorker("examples/models/chat.ts", join(workDir, "models", "chat.js"));
	return startStack({
		routerDir,
		models: {
			"switchyard-sentiment-v1": { scriptPath: v1 },
			"switchyard-sentiment-v2": { scriptPath: v2 },
			"switchyard-sentiment-v2-faulty": { scriptPath: v2, bindings: { ERROR_RATE: "0.08" } },
			"switchyard-chat": { scriptPath: chat, bindings: { VERSION: "chat-v1", TTFT_MS: "80" } },
			"switchyard-chat-v2": { scriptPath: chat, bindings: { VERSION: "chat-v2", TTFT_MS: "60" } },
			"switchyard-chat-v2-slow": {
				scriptPath: chat,
				bindings: { VERSION: "chat-v2-slow", TTFT_MS: "320" },
			},
		},
		serviceBindings: {
			MODEL_V1: "switchyard-sentiment-v1",
			MODEL_V2: "switchyard-sentiment-v2",
			MODEL_V2_FAULTY: "switchyard-sentiment-v2-faulty",
			MODEL_CHAT: "switchyard-chat",
			MODEL_CHAT_V2: "switchyard-chat-v2",
			MODEL_CHAT_V2_SLOW: "switchyard-chat-v2-slow",
		},
		vars,
		extraWorkers,
	});
}
