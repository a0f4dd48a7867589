/**
 * `npm run load-test`: many simulated isolates' recorders flushing
 * concurrently to a deployment's ingest shards in workerd; checks the merged
 * aggregates against the truth and reports the requests each shard took
 * (scripts/load/run.ts).
 *
 *   npm run load-test -- --isolates 200 --seconds 60 --rate 20 --feedback-share 0.1 --shards 4 [--seed 1] [--json]
 *
 * Exit codes: 0 exact, 1 a mismatch, 2 usage error.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_LOAD, runIngestLoad } from "./load/run";

function fail(message: string): never {
	process.stderr.write(`${message}\n`);
	process.exit(2);
}

let values: ReturnType<typeof parse>["values"];
function parse() {
	return parseArgs({
		options: {
			isolates: { type: "string", default: String(DEFAULT_LOAD.isolates) },
			seconds: { type: "string", default: String(DEFAULT_LOAD.seconds) },
			rate: { type: "string", default: String(DEFAULT_LOAD.rate) },
			"feedback-share": { type: "string", default: String(DEFAULT_LOAD.feedbackShare) },
			"duplicate-share": { type: "string", default: String(DEFAULT_LOAD.duplicateShare) },
			shards: { type: "string", default: String(DEFAULT_LOAD.shards) },
			seed: { type: "string", default: String(DEFAULT_LOAD.seed) },
			json: { type: "boolean", default: false },
		},
	});
}
try {
	values = parse().values;
} catch (error) {
	fail(String((error as Error).message));
}
const positive = (name: string, text: string | undefined, integer = true) => {
	const value = Number(text);
	if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value)))
		fail(`--${name} must be a ${integer ? "whole " : ""}number ≥ 0, not ${text}`);
	return value;
};

const workDir = mkdtempSync(join(tmpdir(), "switchyard-load-"));
try {
	const result = await runIngestLoad({
		workDir,
		isolates: Math.max(1, positive("isolates", values.isolates)),
		seconds: Math.max(1, positive("seconds", values.seconds)),
		rate: positive("rate", values.rate, false),
		feedbackShare: positive("feedback-share", values["feedback-share"], false),
		duplicateShare: positive("duplicate-share", values["duplicate-share"], false),
		shards: Math.min(64, Math.max(1, positive("shards", values.shards))),
		seed: positive("seed", values.seed),
		log: values.json ? undefined : (m) => process.stderr.write(`  ${m}\n`),
	});
	if (values.json) console.log(JSON.stringify(result, null, 2));
	else {
		const f = (x: number, d = 1) => x.toFixed(d);
		console.log(
			[
				`${result.options.isolates} isolates × ${result.options.rate} predictions/s for ${result.options.seconds} virtual s, ${result.options.shards} shards`,
				`  ${result.predictions} predictions, ${result.feedbackValues} feedback values (and ${f(result.options.duplicateShare * 100, 0)} % of them sent again)`,
				`  ${result.flushRequests} flush calls: ${f(result.perShardRequestsPerSecond.mean, 2)} per shard per second (busiest ${f(result.perShardRequestsPerSecond.max, 2)}; the capacity model says ${f(result.modelPerShardRequestsPerSecond, 2)})`,
				`  workerd took them at ${f(result.flushRequestsPerWallSecond, 0)} calls/s (${f(result.wallSeconds)} s wall)`,
				result.exact
					? "  merged aggregates equal the truth: every count and histogram bucket, moments to rounding ✓"
					: `  MISMATCH ✗\n${result.mismatches.map((m) => `    ${m}`).join("\n")}`,
			].join("\n"),
		);
	}
	process.exitCode = result.exact ? 0 : 1;
} finally {
	rmSync(workDir, { recursive: true, force: true });
}
