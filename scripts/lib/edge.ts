/**
 * The local edge: seeding demo deployments into local KV and running
 * `wrangler dev` with the router and the demo models (service bindings
 * between them). Shared by `npm start`, `npm run demo` and the script tests.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
	copyFileSync,
	existsSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const MODEL_CONFIGS = [
	"sentiment-v1.toml",
	"sentiment-v2.toml",
	"sentiment-v2-faulty.toml",
	"chat.toml",
	"chat-v2.toml",
	"chat-v2-slow.toml",
].map((f) => join("examples", "models", f));
export const DEMO_DEPLOYMENTS = ["demo-shadow", "demo-ab", "demo-canary", "demo-chat"] as const;

const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

function wrangler(args: string[], persistTo?: string): string {
	const result = spawnSync(WRANGLER, [...args, ...(persistTo ? ["--persist-to", persistTo] : [])], {
		cwd: ROOT,
		env: quietEnv,
		encoding: "utf8",
	});
	if (result.status !== 0)
		throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stderr || result.stdout}`);
	return result.stdout;
}

/**
 * Creates .dev.vars from the committed example when missing, or adds the
 * secrets a newer example has (e.g. WEBHOOK_SECRET) to an existing one,
 * keeping the values already there. Returns the names it wrote.
 */
export function ensureDevVars(root = ROOT): string[] {
	const target = join(root, ".dev.vars");
	const example = readFileSync(join(root, ".dev.vars.example"), "utf8");
	const names = (text: string) =>
		[...text.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1] as string);
	if (!existsSync(target)) {
		copyFileSync(join(root, ".dev.vars.example"), target);
		return names(example);
	}
	const current = readFileSync(target, "utf8");
	const have = new Set(names(current));
	const missing = example.split("\n").filter((line) => {
		const name = /^([A-Z_][A-Z0-9_]*)=/.exec(line)?.[1];
		return name !== undefined && !have.has(name);
	});
	if (missing.length === 0) return [];
	writeFileSync(target, `${current.replace(/\n*$/, "\n")}${missing.join("\n")}\n`);
	return missing.map((line) => line.split("=")[0] as string);
}

/** A local secret (from .dev.vars, or the committed example before `npm start` made one). */
export function localSecret(name: "ADMIN_TOKEN" | "FEEDBACK_TOKEN"): string {
	const vars = readFileSync(
		join(ROOT, existsSync(join(ROOT, ".dev.vars")) ? ".dev.vars" : ".dev.vars.example"),
		"utf8",
	);
	return new RegExp(`^${name}=(.*)$`, "m").exec(vars)?.[1]?.trim() ?? "";
}

/**
 * Puts the demo specs and states into local KV where their keys are missing,
 * so what a user changed survives restarts. Returns the keys written.
 */
export function seedDemo(persistTo?: string): string[] {
	const listed = JSON.parse(
		wrangler(["kv", "key", "list", "--local", "--binding", "CONFIG"], persistTo),
	) as { name: string }[];
	const present = new Set(listed.map((k) => k.name));
	const seed = JSON.parse(
		readFileSync(join(ROOT, "examples", "deployments", "seed.json"), "utf8"),
	) as { states: Record<string, unknown> };
	const entries: { key: string; value: string }[] = [];
	for (const name of DEMO_DEPLOYMENTS) {
		if (!present.has(`deployment:${name}`)) {
			entries.push({
				key: `deployment:${name}`,
				value: readFileSync(join(ROOT, "examples", "deployments", `${name}.json`), "utf8"),
			});
		}
		if (!present.has(`state:${name}`))
			entries.push({ key: `state:${name}`, value: JSON.stringify(seed.states[name]) });
	}
	// The index of names the edge answers unknown names from (the cron keeps it up to date too).
	const specs = [...present]
		.filter((key) => key.startsWith("deployment:"))
		.map((key) => key.slice(11));
	const names = [...new Set([...specs, ...DEMO_DEPLOYMENTS])].sort();
	if (entries.length > 0 || !present.has("index:deployments"))
		entries.push({ key: "index:deployments", value: JSON.stringify(names) });
	if (entries.length > 0) {
		const dir = mkdtempSync(join(tmpdir(), "switchyard-seed-"));
		const file = join(dir, "seed.json");
		writeFileSync(file, JSON.stringify(entries));
		try {
			wrangler(["kv", "bulk", "put", file, "--local", "--binding", "CONFIG"], persistTo);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	}
	return entries.map((e) => e.key);
}

export interface EdgeOptions {
	port: number;
	/** Extra [vars] for the router, e.g. a shorter config TTL for the demo. */
	vars?: Record<string, string>;
	/** Where local state lives (default: .wrangler/state, shared with `npm start`). */
	persistTo?: string;
	/** Inherit stdio (npm start) or keep quiet (demo, tests). */
	stdio?: "inherit" | "ignore";
}

/** Starts `wrangler dev` with the router and the demo models. */
export function startEdge(options: EdgeOptions): ChildProcess {
	const args = [
		"dev",
		"-c",
		"wrangler.toml",
		...MODEL_CONFIGS.flatMap((c) => ["-c", c]),
		"--ip",
		"127.0.0.1",
		"--port",
		String(options.port),
		"--test-scheduled",
		"--show-interactive-dev-session=false",
		...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
		...(options.persistTo ? ["--persist-to", options.persistTo] : []),
	];
	return spawn(WRANGLER, args, { cwd: ROOT, env: quietEnv, stdio: options.stdio ?? "inherit" });
}

/** Waits until the edge answers /healthz (or the process exits). */
export async function waitForEdge(
	url: string,
	child?: ChildProcess,
	timeoutMs = 60_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let exited = false;
	child?.once("exit", () => {
		exited = true;
	});
	while (Date.now() < deadline) {
		if (exited) throw new Error("the local edge exited before it was ready");
		try {
			const res = await fetch(`${url}/healthz`);
			if (res.ok) return;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`the local edge did not answer ${url}/healthz within ${timeoutMs / 1000} s`);
}

/** Stops a child process tree politely, then firmly. */
export async function stop(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null) return;
	const exited = new Promise((r) => child.once("exit", r));
	child.kill("SIGTERM");
	const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
	await exited;
	clearTimeout(timer);
}
