/**
 * `npm run simulate`: Monte Carlo of whole canary rollouts with the real
 * controller and statistics (no worker), against a naive per-minute
 * fixed-horizon test and a Flagger-like success-rate threshold, on the same
 * seeded traffic. Prints a table per scenario and writes bench/simulation.json.
 *
 *   npm run simulate -- --rollouts 1000 --seed 1 --rate 6000 --steps 1,5,25,50,100
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { table } from "./cli/format";
import { ROOT } from "./lib/edge";
import { simulate } from "./sim/run";
import { REFERENCE, type SimulationConfig } from "./sim/scenarios";

const { values } = parseArgs({
	options: {
		rollouts: { type: "string", default: "1000" },
		seed: { type: "string", default: "1" },
		rate: { type: "string", default: String(REFERENCE.requestsPerMinute) },
		steps: { type: "string", default: REFERENCE.steps.join(",") },
		"min-requests": { type: "string", default: String(REFERENCE.minRequests) },
		bake: { type: "string", default: String(REFERENCE.bakeSeconds) },
		alpha: { type: "string", default: String(REFERENCE.alpha) },
		out: { type: "string", default: join(ROOT, "bench", "simulation.json") },
	},
});

const config: SimulationConfig = {
	...REFERENCE,
	requestsPerMinute: Number(values.rate),
	steps: String(values.steps).split(",").map(Number),
	minRequests: Number(values["min-requests"]),
	bakeSeconds: Number(values.bake),
	alpha: Number(values.alpha),
};
const rollouts = Number(values.rollouts);
const seed = Number(values.seed);

console.log(
	`Simulating ${rollouts} rollouts per scenario and rule: ${config.requestsPerMinute} requests/min, steps ${config.steps.join(" → ")} %, ` +
		`minRequests ${config.minRequests}, bake ${config.bakeSeconds} s, α ${config.alpha}, champion error rate 0.5 %, one look a minute, ${config.maxMinutes} min cap.`,
);
const started = performance.now();
const results = simulate({
	rollouts,
	seed,
	config,
	onProgress: (m) => process.stderr.write(`  ${m}\n`),
});
const pct = (x: number | null) => (x === null ? "—" : `${(x * 100).toFixed(1)} %`);
for (const result of results) {
	console.log(`\n${result.scenario}${result.harmful ? "" : " (should be promoted)"}`);
	console.log(
		table(
			["rule", "aborted", "promoted", "running", "median min", "median exposure"],
			result.rules.map((r) => [
				r.rule,
				pct(r.aborted),
				pct(r.promoted),
				pct(r.running),
				r.medianMinutes ?? "—",
				pct(r.medianExposure),
			]),
		),
	);
}
const seconds = (performance.now() - started) / 1000;
console.log(
	`\n${results.length} scenarios × ${results[0]?.rules.length ?? 0} rules × ${rollouts} rollouts in ${seconds.toFixed(1)} s`,
);
mkdirSync(join(values.out as string, ".."), { recursive: true });
writeFileSync(
	values.out as string,
	`${JSON.stringify({ generatedAt: new Date().toISOString(), rollouts, seed, config, seconds, results }, null, 2)}\n`,
);
console.log(`wrote ${values.out}`);
