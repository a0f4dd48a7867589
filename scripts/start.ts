/**
 * `npm start`: the local edge on http://127.0.0.1:8787 (PORT overrides) with
 * the demo models and the demo deployments seeded in local KV. State persists
 * under .wrangler/ between runs; fire the cron with
 * curl "http://127.0.0.1:8787/__scheduled?cron=*+*+*+*+*".
 */
import { DEMO_DEPLOYMENTS, ensureDevVars, seedDemo, startEdge } from "./lib/edge";

const port = Number(process.env.PORT ?? 8787);
const added = ensureDevVars();
if (added.length > 0)
	console.log(`Wrote ${added.join(", ")} to .dev.vars (local secrets, from .dev.vars.example).`);
const seeded = seedDemo();
console.log(
	seeded.length > 0
		? `Seeded local KV: ${seeded.join(", ")}`
		: "Local KV already has the demo deployments.",
);
console.log(
	`Starting the local edge on http://127.0.0.1:${port} with ${DEMO_DEPLOYMENTS.join(", ")} …`,
);
const edge = startEdge({ port });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => edge.kill(signal));
edge.on("exit", (code) => process.exit(code ?? 0));
