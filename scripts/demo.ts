/**
 * `npm run demo`: starts the local edge (or uses the one at SWITCHYARD_URL,
 * e.g. `npm start`'s), drives simulated visitors at demo-canary and fires the
 * cron on an accelerated clock: a healthy canary goes all the way to
 * promoted, a faulty one is aborted. Exits 0 when both end as expected. On an
 * edge it did not start, it puts demo-canary's usual spec back afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeOutcome, runDemo } from "./demo/run";
import {
	ensureDevVars,
	localSecret,
	ROOT,
	seedDemo,
	startEdge,
	stop,
	waitForEdge,
} from "./lib/edge";

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() =>
				typeof address === "object" && address
					? resolve(address.port)
					: reject(new Error("no port")),
			);
		});
	});
}

const external = process.env.SWITCHYARD_URL;
const started = Date.now();
let edgeProcess: ReturnType<typeof startEdge> | undefined;
let persistTo: string | undefined;
let url: string;
let token: string;
let feedbackToken: string;

if (external) {
	url = external.replace(/\/+$/, "");
	token = process.env.SWITCHYARD_TOKEN ?? localSecret("ADMIN_TOKEN");
	feedbackToken = process.env.SWITCHYARD_FEEDBACK_TOKEN ?? localSecret("FEEDBACK_TOKEN");
	console.log(`Using the edge at ${url}.`);
} else {
	ensureDevVars();
	persistTo = mkdtempSync(join(tmpdir(), "switchyard-demo-"));
	seedDemo(persistTo);
	const port = await freePort();
	url = `http://127.0.0.1:${port}`;
	token = localSecret("ADMIN_TOKEN");
	feedbackToken = localSecret("FEEDBACK_TOKEN");
	console.log(`Starting a local edge on ${url} (wrangler dev, fresh state, 1 s config cache) …`);
	edgeProcess = startEdge({
		port,
		persistTo,
		stdio: "ignore",
		vars: {
			CONFIG_TTL_SECONDS: "1",
			METRICS_FLUSH_MS: "500",
			INGEST_PUSH_MS: "500",
			INGEST_FORWARD_MS: "200",
		},
	});
	await waitForEdge(url, edgeProcess);
}

const tty = process.stdout.isTTY;
let lastLine = "";
try {
	const result = await runDemo(
		{
			url,
			token,
			feedbackToken,
			fireCron: async () => {
				const res = await fetch(`${url}/__scheduled?cron=*+*+*+*+*`);
				await res.arrayBuffer();
			},
		},
		{
			log: (line) => {
				if (tty && lastLine) process.stdout.write("\n");
				lastLine = "";
				console.log(line);
			},
			progress: (line) => {
				if (tty) {
					const width = process.stdout.columns ?? 120;
					process.stdout.write(`\r\x1b[K${line.slice(0, width - 1)}`);
				} else if (line.split("—")[0] !== lastLine.split("—")[0]) {
					console.log(line);
				}
				lastLine = line;
			},
		},
	);
	if (tty) process.stdout.write("\n");
	console.log("\nSummary");
	for (const outcome of result.outcomes) console.log(describeOutcome(outcome));
	console.log(
		`\n${result.ok ? `All ${result.outcomes.length} scenarios ended as expected` : "A scenario did not end as expected"} (${((Date.now() - started) / 1000).toFixed(0)} s in all).`,
	);
	process.exitCode = result.ok ? 0 : 1;
	if (external) {
		// Leave the edge's demo-canary with its usual spec (the demo used a fast one).
		const original = readFileSync(
			join(ROOT, "examples", "deployments", "demo-canary.json"),
			"utf8",
		);
		const res = await fetch(`${url}/admin/api/deployments/demo-canary?rebucket=true&force=true`, {
			method: "PUT",
			headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
			body: original,
		});
		console.log(
			res.ok
				? "Restored demo-canary's spec (its state stays as the last scenario left it)."
				: `Could not restore demo-canary's spec: ${res.status}`,
		);
	}
} finally {
	if (edgeProcess) await stop(edgeProcess);
	if (persistTo) rmSync(persistTo, { recursive: true, force: true });
}
