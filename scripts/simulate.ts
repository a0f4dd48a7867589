/**
 * `npm run simulate`: Monte Carlo of whole canary rollouts with the real
 * analysis and controller (no worker).
 *
 * Without --scenario: the reference comparison, Switchyard against a naive
 * per-minute fixed-horizon test and a Flagger-like success-rate threshold on
 * the same seeded traffic; prints a table per candidate and writes
 * bench/simulation.json.
 *
 *   npm run simulate -- --rollouts 1000 --seed 1 --rate 6000 --steps 1,5,25,50,100
 *
 * With --scenario FILE… (several files, or a glob): rollouts of the traffic a scenario file
 * describes (docs/scenarios.md) under the Switchyard controller, one table
 * row (or with --json one JSON object per line) per scenario.
 *
 *   npm run simulate -- --scenario examples/scenarios/bursts.json --rollouts 300 --json
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { table } from "./cli/format";
import { ROOT } from "./lib/edge";
import { runScenario, simulate } from "./sim/run";
import { loadScenario, ScenarioError, type ScenarioFile } from "./sim/scenario-file";
import { REFERENCE, type SimulationConfig } from "./sim/scenarios";

function fail(message: string): never {
	process.stderr.write(`${message}\n`);
	process.exit(2);
}

let values: ReturnType<typeof parse>["values"];
let files: string[] = [];
function parse() {
	return parseArgs({
		allowPositionals: true,
		options: {
			scenario: { type: "string", multiple: true },
			json: { type: "boolean", default: false },
			rollouts: { type: "string" },
			seed: { type: "string", default: "1" },
			rate: { type: "string", default: String(REFERENCE.requestsPerMinute) },
			steps: { type: "string", default: REFERENCE.steps.join(",") },
			"min-requests": { type: "string", default: String(REFERENCE.minRequests) },
			bake: { type: "string", default: String(REFERENCE.bakeSeconds) },
			alpha: { type: "string", default: String(REFERENCE.alpha) },
			out: { type: "string", default: join(ROOT, "bench", "simulation.json") },
		},
	});
}
try {
	const parsed = parse();
	values = parsed.values;
	// `--scenario a.json b.json` (a shell glob) names several files.
	files = [...(values.scenario ?? []), ...(values.scenario ? parsed.positionals : [])];
	if (!values.scenario && parsed.positionals.length > 0)
		throw new Error(`unexpected argument ${parsed.positionals[0]}`);
} catch (error) {
	fail(
		`${(error as Error).message}\nusage: npm run simulate -- [--scenario FILE.json …] [--rollouts N] [--seed S] [--json]`,
	);
}

const positive = (name: string, raw: string | undefined, fallback: number) => {
	const n = raw === undefined ? fallback : Number(raw);
	if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number, got ${raw}`);
	return n;
};
const seed = positive("seed", values.seed, 1);
const pct = (x: number | null) => (x === null ? "—" : `${(x * 100).toFixed(1)} %`);

if (files.length > 0) {
	const rollouts = positive("rollouts", values.rollouts, 300);
	let scenarios: ScenarioFile[];
	try {
		scenarios = files.map((path) => loadScenario(path));
	} catch (error) {
		if (error instanceof ScenarioError) fail(error.message);
		throw error;
	}
	const rows: (string | number)[][] = [];
	for (const scenario of scenarios) {
		const { seconds, ...summary } = runScenario(scenario, { rollouts, seed });
		if (values.json) {
			console.log(JSON.stringify(summary));
			continue;
		}
		rows.push([
			scenario.name,
			scenario.expect,
			pct(summary.aborted),
			pct(summary.promoted),
			pct(summary.running),
			summary.medianMinutes ?? "—",
			pct(summary.exposure.aborted),
			pct(summary.exposure.promoted),
			`${seconds.toFixed(1)} s`,
		]);
		process.stderr.write(`  ${scenario.name}: ${seconds.toFixed(1)} s\n`);
	}
	if (!values.json) {
		console.log(
			`${rollouts} rollouts per scenario (seed ${seed}); exposure = median share of requests on the candidate before the decision\n`,
		);
		console.log(
			table(
				[
					"scenario",
					"expect",
					"aborted",
					"promoted",
					"running",
					"median min",
					"exposure (aborted)",
					"exposure (promoted)",
					"time",
				],
				rows,
			),
		);
	}
} else {
	const config: SimulationConfig = {
		...REFERENCE,
		requestsPerMinute: Number(values.rate),
		steps: String(values.steps).split(",").map(Number),
		minRequests: Number(values["min-requests"]),
		bakeSeconds: Number(values.bake),
		alpha: Number(values.alpha),
	};
	const rollouts = positive("rollouts", values.rollouts, 1000);
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
}
