/**
 * `npm start`: the local edge on http://127.0.0.1:8787 (PORT overrides) with
 * the demo models and the demo deployments seeded in local KV, and the
 * controller running every minute as the deployed cron trigger would (off
 * with `npm start -- --no-cron`; then fire it by hand with
 * curl "http://127.0.0.1:8787/__scheduled?cron=*+*+*+*+*"). State persists
 * under .wrangler/ between runs.
 */
import { DEMO_DEPLOYMENTS, ensureDevVars, seedDemo, startEdge, waitForEdge } from "./lib/edge";
import { startTicker } from "./lib/ticker";

const port = Number(process.env.PORT ?? 8787);
const url = `http://127.0.0.1:${port}`;
const cron = !process.argv.includes("--no-cron");
const added = ensureDevVars();
if (added.length > 0)
	console.log(`Wrote ${added.join(", ")} to .dev.vars (local secrets, from .dev.vars.example).`);
const seeded = seedDemo();
console.log(
	seeded.length > 0
		? `Seeded local KV: ${seeded.join(", ")}`
		: "Local KV already has the demo deployments.",
);
console.log(`Starting the local edge on ${url} with ${DEMO_DEPLOYMENTS.join(", ")} …`);
console.log(
	cron
		? "The controller runs every minute by itself, as the deployed cron trigger would (npm start -- --no-cron to drive it by hand)."
		: `The controller runs only when you fire it: curl "${url}/__scheduled?cron=*+*+*+*+*"`,
);
const edge = startEdge({ port });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => edge.kill(signal));
edge.on("exit", (code) => process.exit(code ?? 0));
if (cron) {
	waitForEdge(url, edge, 120_000).then(
		() =>
			startTicker({
				url,
				onTick: ({ at, status, error }) => {
					if (error !== undefined || (status !== undefined && status >= 400))
						console.error(
							`[${at.toISOString()}] controller tick failed: ${error ?? `HTTP ${status}`}`,
						);
				},
			}),
		(error: unknown) => console.error(`The controller clock did not start: ${String(error)}`),
	);
}
