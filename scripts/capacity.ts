/**
 * `npm run capacity`: what a traffic costs and where the limits are — the
 * requests per second each object receives, KV reads and object requests per
 * 1,000 predictions, rows written and storage per day, and the cost per
 * million predictions at Cloudflare's published prices (scripts/capacity/).
 *
 *   npm run capacity -- --rps 1000000 --isolates 10000 --feedback-share 0.1 --shards 8 [--json]
 *
 * Exit codes: 0 printed, 2 usage error.
 */
import { parseArgs } from "node:util";
import {
	type Capacity,
	capacity,
	DEFAULT_ASSUMPTIONS,
	DEFAULT_SHARDS,
	defaultIsolates,
	defaultSettings,
} from "./capacity/model";
import { table } from "./cli/format";

const USAGE = `usage: npm run capacity -- [options]
  --rps N              predictions per second over all deployments (1000)
  --deployments N      deployments sharing them (1)
  --isolates N         isolates serving them (rps / 100)
  --feedback-share X   feedback values per prediction (0.1)
  --shards N           ingest shards per deployment (${DEFAULT_SHARDS}, the spec's default)
  --public-feedback    feedback sent without the token (one more de-duplication key per value)
  --config-ttl S       CONFIG_TTL_SECONDS (${defaultSettings().CONFIG_TTL_SECONDS})
  --cpu-ms X           Worker CPU per request, ms (${DEFAULT_ASSUMPTIONS.cpuMsPerRequest}, an assumption)
  --json               one JSON object`;

function fail(message: string): never {
	process.stderr.write(`${message}\n${USAGE}\n`);
	process.exit(2);
}

let values: ReturnType<typeof parse>["values"];
function parse() {
	return parseArgs({
		options: {
			rps: { type: "string", default: "1000" },
			deployments: { type: "string", default: "1" },
			isolates: { type: "string" },
			"feedback-share": { type: "string", default: "0.1" },
			shards: { type: "string", default: String(DEFAULT_SHARDS) },
			"public-feedback": { type: "boolean", default: false },
			"config-ttl": { type: "string" },
			"cpu-ms": { type: "string" },
			json: { type: "boolean", default: false },
			help: { type: "boolean", default: false },
		},
	});
}
try {
	values = parse().values;
} catch (error) {
	fail(String((error as Error).message));
}
if (values.help) {
	console.log(USAGE);
	process.exit(0);
}

function number(name: string, text: string | undefined, min: number, integer = false): number {
	const value = Number(text);
	if (
		text === undefined ||
		!Number.isFinite(value) ||
		value < min ||
		(integer && !Number.isInteger(value))
	)
		fail(`--${name} must be ${integer ? "an integer" : "a number"} ≥ ${min}, not ${text}`);
	return value;
}

const rps = number("rps", values.rps, Number.MIN_VALUE);
const settings = defaultSettings();
const result = capacity(
	{
		rps,
		deployments: number("deployments", values.deployments, 1, true),
		isolates:
			values.isolates === undefined
				? defaultIsolates(rps)
				: number("isolates", values.isolates, 1, true),
		feedbackShare: number("feedback-share", values["feedback-share"], 0),
		shards: Math.min(64, number("shards", values.shards, 1, true)),
		publicFeedback: values["public-feedback"],
	},
	{
		...settings,
		...(values["config-ttl"] === undefined
			? {}
			: { CONFIG_TTL_SECONDS: number("config-ttl", values["config-ttl"], 0) }),
	},
	{
		...DEFAULT_ASSUMPTIONS,
		...(values["cpu-ms"] === undefined
			? {}
			: { cpuMsPerRequest: number("cpu-ms", values["cpu-ms"], 0) }),
	},
);

if (values.json) console.log(JSON.stringify(result, null, 2));
else console.log(render(result));

/** The report for people. */
function render(c: Capacity): string {
	const t = c.traffic;
	const n = (x: number, digits = 2) =>
		x >= 1000 ? Math.round(x).toLocaleString("en-US") : x >= 10 ? x.toFixed(1) : x.toFixed(digits);
	const usd = (x: number) => `$${x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(2)}`;
	const ok = (met: boolean) => (met ? "✓" : "✗");
	const { ingestShard: shard, deploymentObject: object } = c.requestsPerSecond;
	const g = c.goals;
	const lines = [
		`Capacity at ${n(t.rps)} predictions/s — ${t.deployments} deployment${t.deployments === 1 ? "" : "s"}, ${n(t.isolates)} isolates, ${n(t.feedbackShare * 100)} % feedback${t.publicFeedback ? " (public)" : ""}, ${t.shards} shard${t.shards === 1 ? "" : "s"} each`,
		"",
		table(
			["", "value", "made of", "target"],
			[
				[
					"requests/s on one ingest shard",
					n(shard.total),
					`flushes ${n(shard.flushes)}, hand-offs ${n(shard.handOffs)}, alarms ${n(shard.alarms)}`,
					`≤ ${g.maxRequestsPerSecondPerObject.target} ${ok(shard.total <= g.maxRequestsPerSecondPerObject.target)}${shard.total > g.maxRequestsPerSecondPerObject.target ? ` (${c.recommendedShards} shards would do)` : ""}`,
				],
				[
					"requests/s on the deployment object",
					n(object.total, 3),
					`pushes ${n(object.pushes, 3)}, looks ${n(object.looks, 3)}`,
					`≤ ${g.maxRequestsPerSecondPerObject.target} ${ok(object.total <= g.maxRequestsPerSecondPerObject.target)}`,
				],
				[
					"KV reads / 1,000 predictions",
					n(c.kvReadsPer1000, 3),
					`${n(c.kvKeysReadPer1000, 3)} keys (config every ${c.settings.CONFIG_TTL_SECONDS} s per isolate)`,
					`≤ ${g.kvReadsPer1000.target} ${ok(g.kvReadsPer1000.met)}`,
				],
				[
					"object requests / 1,000 predictions",
					n(c.objectRequestsPer1000, 3),
					`isolates' flushes ${n(c.flushRequestsPer1000, 3)}`,
					`≤ ${g.objectRequestsPer1000.target} ${ok(g.objectRequestsPer1000.met)}`,
				],
				["rows written / day", n(c.rowsWrittenPerDay), "", ""],
				[
					"storage written / day",
					bytes(c.storage.bytesPerDay),
					`held ${bytes(c.storage.steadyStateBytes)}, one shard ${bytes(c.storage.perShardBytes)}`,
					"",
				],
			],
		),
		"",
		`cost per day ${usd(c.costPerDay.total)}: Workers requests ${usd(c.costPerDay.workersRequests)}, CPU ${usd(c.costPerDay.workersCpu)}, KV ${usd(c.costPerDay.kvReads)}, object requests ${usd(c.costPerDay.objectRequests)}, duration ${usd(c.costPerDay.objectDuration)}, rows written ${usd(c.costPerDay.rowsWritten)}, storage ${usd(c.costPerDay.storage)}`,
		`cost per million predictions: ${usd(c.costPerMillionPredictions)}`,
		"",
		...c.notes.map((note) => `· ${note}`),
	];
	return lines.join("\n");
}

function bytes(x: number): string {
	const units = ["B", "KB", "MB", "GB", "TB"];
	let value = x;
	let unit = 0;
	while (value >= 1000 && unit < units.length - 1) {
		value /= 1000;
		unit += 1;
	}
	return `${value >= 100 ? Math.round(value) : value.toPrecision(3)} ${units[unit]}`;
}
