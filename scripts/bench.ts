/**
 * `npm run bench`: Switchyard vs a bare pass-through worker in workerd, same
 * stub backend, same load, in alternation. Prints a table and writes
 * bench/results.json.
 *
 *   npm run bench -- --duration 8 --rounds 3 --connections 16 --rate 1000 --cron-deployments 1000
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBench } from "./bench/run";
import { table } from "./cli/format";
import { ROOT } from "./lib/edge";

const { values } = parseArgs({
	options: {
		duration: { type: "string", default: "8" },
		rounds: { type: "string", default: "3" },
		connections: { type: "string", default: "16" },
		"cron-deployments": { type: "string", default: "1000" },
		rate: { type: "string", default: "1000" },
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
	const { canary5, shadow } = results.scenarios;
	const f = (x: number, d = 2) => x.toFixed(d);
	const ok = (good: boolean) => (good ? "✓" : "✗");
	console.log(
		`\nSwitchyard vs a bare pass-through worker — ${results.machine.cpus} × ${results.machine.model}, ${results.settings.connections} connections, ` +
			`${results.settings.rounds} × ${results.settings.durationSeconds} s per worker and scenario, medians\n`,
	);
	const lat = (
		x: { latencyMs: { p50: { added: number }; p99: { added: number } } },
		q: "p50" | "p99",
	) => `${f(x.latencyMs[q].added)} ms`;
	console.log(
		table(
			["", "canary at 5 %", "shadow (100 %)", "target"],
			[
				[
					"throughput (switchyard / bare)",
					`${f(canary5.throughputRatio)}× ${ok(canary5.throughputRatio >= 0.9)}`,
					`${f(shadow.throughputRatio)}×`,
					"≥ 0.90×",
				],
				[
					"req/s at saturation: switchyard | bare",
					`${f(canary5.rps.switchyard, 0)} | ${f(canary5.rps.bare, 0)}`,
					`${f(shadow.rps.switchyard, 0)} | ${f(shadow.rps.bare, 0)}`,
					"",
				],
				[
					`added latency p50 at ${results.settings.rate} req/s`,
					lat(canary5, "p50"),
					lat(shadow, "p50"),
					"",
				],
				[
					`p99 at ${results.settings.rate} req/s: switchyard | bare`,
					`${f(canary5.latencyMs.p99.switchyard)} | ${f(canary5.latencyMs.p99.bare)} ms`,
					`${f(shadow.latencyMs.p99.switchyard)} | ${f(shadow.latencyMs.p99.bare)} ms`,
					"≤ 1 ms added",
				],
				[
					"p99 at saturation: switchyard | bare",
					`${f(canary5.saturatedLatencyMs.p99.switchyard, 0)} | ${f(canary5.saturatedLatencyMs.p99.bare, 0)} ms`,
					`${f(shadow.saturatedLatencyMs.p99.switchyard, 0)} | ${f(shadow.saturatedLatencyMs.p99.bare, 0)} ms`,
					"",
				],
				[
					"KV requests / 1,000 predictions",
					f(canary5.platformPer1000Predictions.kvRequests, 3),
					f(shadow.platformPer1000Predictions.kvRequests, 3),
					"≤ 1",
				],
				[
					"KV keys read / 1,000 predictions",
					f(canary5.platformPer1000Predictions.kvKeysRead, 3),
					f(shadow.platformPer1000Predictions.kvKeysRead, 3),
					"",
				],
				[
					"DO requests / 1,000 predictions",
					f(canary5.platformPer1000Predictions.durableObjectRequests, 3),
					f(shadow.platformPer1000Predictions.durableObjectRequests, 3),
					"≤ 10",
				],
				[
					"  of which to ingest shards (capacity model)",
					`${f(canary5.platformPer1000Predictions.ingestRequests, 3)} (${f(canary5.platformPer1000Predictions.modelIngestRequests, 3)})`,
					`${f(shadow.platformPer1000Predictions.ingestRequests, 3)} (${f(shadow.platformPer1000Predictions.modelIngestRequests, 3)})`,
					"",
				],
			],
		),
	);
	console.log(
		`\ncron: ${results.cron.deployments} deployments with seeded metrics evaluated in ${f(results.cron.seconds)} s (target < ${results.targets.cronSeconds} s) ${ok(results.cron.seconds < results.targets.cronSeconds)}`,
	);
	writeFileSync(values.out as string, `${JSON.stringify(results, null, 2)}\n`);
	console.log(`wrote ${values.out}`);
} finally {
	rmSync(workDir, { recursive: true, force: true });
}
