/**
 * `npm run bench`: Switchyard vs a bare pass-through worker in workerd, same
 * stub backend, same load, in alternation. Prints a table and writes
 * bench/results.json.
 *
 *   npm run bench -- --duration 8 --rounds 3 --connections 16 --rate 0 --cron-deployments 1000
 *   (--rate 0: latency at half the bare proxy's capacity, see BenchOptions.rate)0
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBench, type ScenarioResult } from "./bench/run";
import { table } from "./cli/format";
import { ROOT } from "./lib/edge";

const { values } = parseArgs({
	options: {
		duration: { type: "string", default: "8" },
		rounds: { type: "string", default: "3" },
		connections: { type: "string", default: "16" },
		"cron-deployments": { type: "string", default: "1000" },
		rate: { type: "string", default: "0" },
		vars: { type: "string", default: "{}" },
		out: { type: "string", default: join(ROOT, "bench", "results.json") },
	},
});

const workDir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
try {
	const results = await runBench({
		workDir,
		duration: Number(values.duration),
		rounds: Number(values.rounds),
		connections: Number(values.connections),
		cronDeployments: Number(values["cron-deployments"]),
		rate: Number(values.rate),
		vars: JSON.parse(values.vars as string) as Record<string, string>,
		log: (m) => process.stderr.write(`  ${m}\n`),
	});
	const f = (x: number, d = 2) => x.toFixed(d);
	const ok = (good: boolean) => (good ? "✓" : "✗");
	const { targets } = results;
	console.log(
		`\nSwitchyard vs a bare pass-through worker — ${results.machine.cpus} × ${results.machine.model}, ${results.settings.connections} connections, ` +
			`${results.settings.rounds} × ${results.settings.durationSeconds} s per worker and scenario, medians\n`,
	);
	const columns: [string, ScenarioResult, number][] = [];
	for (const mode of ["service", "url"] as const) {
		const { canary5, shadow } = results.modes[mode];
		const label = mode === "service" ? "service binding" : "URL (HTTP on loopback)";
		columns.push([`canary 5 %, ${label}`, canary5, targets.throughputRatio]);
		columns.push([`shadow, ${label}`, shadow, targets.shadowThroughputRatio]);
	}
	const cpu = (x: ScenarioResult) =>
		x.cpuUsPerPrediction
			? `${f(x.cpuUsPerPrediction.switchyard, 0)} | ${f(x.cpuUsPerPrediction.bare, 0)} µs (+${f(x.cpuUsPerPrediction.added, 0)})`
			: "n/a";
	const row = (name: string, cell: (x: ScenarioResult, target: number) => string) => [
		name,
		...columns.map(([, x, target]) => cell(x, target)),
	];
	console.log(
		table(
			["", ...columns.map(([name]) => name)],
			[
				row(
					"throughput (switchyard / bare)",
					(x, target) => `${f(x.throughputRatio)}× ${ok(x.throughputRatio >= target)}`,
				),
				row("  target", (_, target) => `≥ ${f(target)}×`),
				row(
					"req/s at saturation: switchyard | bare",
					(x) => `${f(x.rps.switchyard, 0)} | ${f(x.rps.bare, 0)}`,
				),
				row("fixed rate for latency (req/s)", (x) => f(x.latencyMs.rate, 0)),
				row(
					`added p50 | p99 there (≤ ${targets.addedP50Ms} | ${targets.addedP99Ms} ms)`,
					(x) => `${f(x.latencyMs.p50.added)} | ${f(x.latencyMs.p99.added)} ms`,
				),
				row("bare req/s over the rounds (its own spread)", (x) => {
					const all = x.rounds.map((r) => r.bare.rps);
					return `${f(Math.min(...all), 0)}–${f(Math.max(...all), 0)}`;
				}),
				row(
					"bare p50 | p99 there",
					(x) => `${f(x.latencyMs.p50.bare)} | ${f(x.latencyMs.p99.bare)} ms`,
				),
				row("workerd CPU / prediction: switchyard | bare", cpu),
			],
		),
	);
	const platform = results.platformPer1000Predictions;
	console.log(
		`\nper 1,000 predictions (service mode): KV requests ${f(platform.canary5.kvRequests, 3)} canary, ${f(platform.shadow.kvRequests, 3)} shadow (target ≤ ${targets.kvReadsPer1000}); ` +
			`object requests ${f(platform.canary5.durableObjectRequests, 3)} canary, ${f(platform.shadow.durableObjectRequests, 3)} shadow (target ≤ ${targets.durableObjectRequestsPer1000}), ` +
			`of which ingest flushes ${f(platform.canary5.ingestRequests, 3)} (capacity model ${f(platform.canary5.modelIngestRequests, 3)})`,
	);
	if (results.profile) {
		console.log(
			`\nwhere the router's CPU goes (canary, service binding, saturated; ${f(results.profile.idlePercent, 0)} % idle), self time of the busy samples:`,
		);
		console.log(
			table(
				["function", "self"],
				results.profile.top.map((e) => [e.name, `${f(e.selfPercent, 1)} %`]),
			),
		);
	}
	console.log(
		`\ncron: ${results.cron.deployments} deployments with seeded metrics evaluated in ${f(results.cron.seconds)} s (target < ${results.targets.cronSeconds} s) ${ok(results.cron.seconds < results.targets.cronSeconds)}`,
	);
	writeFileSync(values.out as string, `${JSON.stringify(results, null, 2)}\n`);
	console.log(`wrote ${values.out}`);
} finally {
	rmSync(workDir, { recursive: true, force: true });
}
