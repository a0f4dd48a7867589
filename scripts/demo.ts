/**
 * `npm run demo`: starts the local edge (or uses the one at SWITCHYARD_URL),
 * drives simulated visitors at demo-canary and fires the cron on an
 * accelerated clock: a healthy canary goes all the way to promoted, a faulty
 * one is aborted. Exits 0 when both end as expected.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeOutcome, runDemo } from "./demo/run";
import { ensureDevVars, localAdminToken, seedDemo, startEdge, stop, waitForEdge } from "./lib/edge";

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

if (external) {
	url = external.replace(/\/+$/, "");
	token = process.env.SWITCHYARD_TOKEN ?? localAdminToken();
	console.log(`Using the edge at ${url}.`);
} else {
	ensureDevVars();
	persistTo = mkdtempSync(join(tmpdir(), "switchyard-demo-"));
	seedDemo(persistTo);
	const port = await freePort();
	url = `http://127.0.0.1:${port}`;
	token = localAdminToken();
	console.log(`Starting a local edge on ${url} (wrangler dev, fresh state, 1 s config cache) …`);
	edgeProcess = startEdge({
		port,
		persistTo,
		stdio: "ignore",
		vars: { CONFIG_TTL_SECONDS: "1", METRICS_FLUSH_MS: "500" },
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
		`\n${result.ok ? "Both scenarios ended as expected" : "A scenario did not end as expected"} (${((Date.now() - started) / 1000).toFixed(0)} s in all).`,
	);
	process.exitCode = result.ok ? 0 : 1;
} finally {
	if (edgeProcess) await stop(edgeProcess);
	if (persistTo) rmSync(persistTo, { recursive: true, force: true });
}
