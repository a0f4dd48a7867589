/**
 * The benchmark: Switchyard against a bare pass-through worker, both in
 * workerd (Miniflare, no `wrangler dev` proxy), both forwarding to the same
 * stub backend, loaded in alternation by autocannon at fixed concurrency and
 * by an open-loop client at a fixed rate. Two backend modes: a service
 * binding to a stub worker, and a stub HTTP server on loopback (URL
 * backends). Also measures workerd's CPU per prediction, profiles where the
 * router's CPU goes, counts KV and Durable Object requests per 1,000
 * predictions (on an instrumented build of the same router) and times one
 * cron evaluation of many deployments with seeded metrics.
 */
import { mkdirSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import type { WorkerOptions } from "miniflare";
import { DEFAULT_SHARDS } from "../../src/config/shards";
import type { DeploymentSpecInput } from "../../src/config/spec";
import type { ShardPush } from "../../src/ingest/protocol";
import { capacity } from "../capacity/model";
import {
	buildRouter,
	buildWorker,
	COMPATIBILITY_DATE,
	STACK_ADMIN_TOKEN,
	type Stack,
	startStack,
} from "../lib/stack";
import { expectedAggregate } from "../sim/traffic";
import { workerdCpuMs } from "./cpu";
import { type ProfileSummary, profileWorker } from "./profile";
import { startStubServer } from "./stub-server";

export interface BenchOptions {
	workDir: string;
	/** Seconds per load phase. */
	duration: number;
	rounds: number;
	connections: number;
	/** Deployments evaluated by the timed cron run. */
	cronDeployments: number;
	/**
	 * Requests per second of the fixed-rate latency phase; 0: half the bare
	 * proxy's capacity, or 60 % of Switchyard's where that is lower (calibrated per scenario).
	 */
	rate: number;
	/** Router [vars] overrides (e.g. a longer METRICS_FLUSH_MS). */
	vars?: Record<string, string>;
	log?: (message: string) => void;
}

interface LatencyPhase {
	rate: number;
	p50: number;
	p99: number;
	errors: number;
	/** workerd's CPU time per request over the phase, in µs (null where /proc is not readable). */
	cpuUs: number | null;
}

/** How the stub backend is reached. */
export type BackendMode = "service" | "url";

interface Phase {
	rps: number;
	p50: number;
	p99: number;
	errors: number;
}

export interface ScenarioResult {
	throughputRatio: number;
	rps: { switchyard: number; bare: number };
	/** At the same fixed request rate for both workers (open loop), in ms. */
	latencyMs: {
		rate: number;
		p50: { switchyard: number; bare: number; added: number };
		p99: { switchyard: number; bare: number; added: number };
	};
	/** At saturation (closed loop, `connections` in flight): mostly queueing, in ms. */
	saturatedLatencyMs: {
		p50: { switchyard: number; bare: number };
		p99: { switchyard: number; bare: number };
	};
	/**
	 * workerd's CPU per prediction at the fixed rate, in µs: the router (or the
	 * bare proxy), its KV and object calls, and in service mode the stub worker
	 * (the same for both, twice for a shadow copy); `added` is Switchyard's cost.
	 */
	cpuUsPerPrediction: { switchyard: number; bare: number; added: number } | null;
	rounds: {
		switchyard: Phase;
		bare: Phase;
		switchyardAtRate: LatencyPhase;
		bareAtRate: LatencyPhase;
	}[];
}

export interface PlatformCounts {
	kvRequests: number;
	kvKeysRead: number;
	durableObjectRequests: number;
	/** Of which flushes to the ingest shards. */
	ingestRequests: number;
	/** What the capacity model predicts for them at the measured rate (one isolate). */
	modelIngestRequests: number;
}

export interface ModeResults {
	canary5: ScenarioResult;
	shadow: ScenarioResult;
}

export interface BenchResults {
	generatedAt: string;
	machine: { cpus: number; model: string; node: string };
	settings: { connections: number; durationSeconds: number; rounds: number; rate: number };
	/** Per backend mode: a service binding to a stub worker, a stub HTTP server on loopback. */
	modes: Record<BackendMode, ModeResults>;
	/** KV and object requests per 1,000 predictions (service mode, instrumented router). */
	platformPer1000Predictions: { canary5: PlatformCounts; shadow: PlatformCounts };
	/** Where the router's CPU goes: canary at 5 %, service mode, at saturation. */
	profile: ProfileSummary | null;
	/** One cron run over `deployments` canaries, each folding a minute its shards pushed. */
	cron: CronTiming;
	targets: {
		throughputRatio: number;
		shadowThroughputRatio: number;
		addedP50Ms: number;
		addedP99Ms: number;
		kvReadsPer1000: number;
		durableObjectRequestsPer1000: number;
		cronSeconds: number;
	};
}

export interface CronTiming {
	deployments: number;
	seconds: number;
}

const BODY = JSON.stringify({ text: "a great little model, not bad at all" });
const COOKIES = 2000;

function deploymentSpecs(
	stubUrl: string | null,
): Record<string, { spec: DeploymentSpecInput; state: object }> {
	const where = stubUrl ? { url: stubUrl } : { service: "STUB" };
	const base = {
		champion: { version: "stub-a", ...where },
		candidate: { version: "stub-b", ...where },
	};
	return {
		"bench-canary": {
			spec: { name: "bench-canary", strategy: "canary", ...base },
			state: { status: "running", weight: 5, step: 1 },
		},
		"bench-shadow": {
			spec: { name: "bench-shadow", strategy: "shadow", ...base },
			state: { status: "shadowing", weight: 0 },
		},
	};
}

async function seedKv(stack: Stack, stubUrl: string | null = null): Promise<void> {
	const kv = await stack.miniflare.getKVNamespace("CONFIG", "switchyard");
	const specs = deploymentSpecs(stubUrl);
	for (const [name, { spec, state }] of Object.entries(specs)) {
		await kv.put(`deployment:${name}`, JSON.stringify(spec));
		await kv.put(`state:${name}`, JSON.stringify({ reason: "bench", updatedBy: "seed", ...state }));
	}
	await kv.put("index:deployments", JSON.stringify(Object.keys(specs).sort()));
}

/** Signed unit cookies of returning visitors, collected from first visits. */
async function collectCookies(url: string, count: number): Promise<string[]> {
	const cookies: string[] = [];
	while (cookies.length < count) {
		const batch = await Promise.all(
			Array.from({ length: Math.min(50, count - cookies.length) }, async () => {
				const res = await fetch(`${url}/v1/models/bench-canary/predict`, {
					method: "POST",
					body: BODY,
					headers: { "content-type": "application/json" },
				});
				await res.arrayBuffer();
				return res.headers
					.getSetCookie()
					.find((c) => c.startsWith("sy_uid="))
					?.split(";")[0];
			}),
		);
		for (const cookie of batch) if (cookie) cookies.push(cookie);
	}
	return cookies;
}

/** Saturation for `options.duration` seconds, or until `amount` requests when given. */
async function load(
	url: string,
	path: string,
	cookies: string[],
	options: BenchOptions,
	amount?: number,
): Promise<Phase> {
	let next = 0;
	const result = await autocannon({
		url,
		connections: options.connections,
		...(amount === undefined ? { duration: options.duration } : { amount }),
		requests: [
			{
				method: "POST",
				path,
				body: BODY,
				setupRequest: (request) => {
					next = (next + 1) % cookies.length;
					return {
						...request,
						headers: {
							...request.headers,
							"content-type": "application/json",
							cookie: cookies[next] as string,
						},
					};
				},
			},
		],
	});
	return {
		rps: result.requests.average,
		p50: result.latency.p50,
		p99: result.latency.p99,
		errors: result.errors + result.timeouts + result.non2xx,
	};
}

/**
 * An open-loop client at a fixed rate: a request is sent every 1/rate s
 * whatever the answers do, over a warmed pool of keep-alive connections
 * (node:http), each latency timed with hrtime (autocannon reports whole
 * milliseconds, too coarse for added latency).
 */
async function fixedRate(
	url: string,
	path: string,
	cookies: string[],
	rate: number,
	seconds: number,
): Promise<LatencyPhase> {
	const target = new URL(url);
	const agent = new Agent({ keepAlive: true, maxSockets: 64 });
	const send = (cookie: string) =>
		new Promise<number>((resolve, reject) => {
			const sent = process.hrtime.bigint();
			const req = request(
				{
					host: target.hostname,
					port: target.port,
					path,
					method: "POST",
					agent,
					headers: {
						"content-type": "application/json",
						cookie,
						"content-length": Buffer.byteLength(BODY),
					},
				},
				(res) => {
					res.on("data", () => {});
					res.on("end", () =>
						res.statusCode === 200
							? resolve(Number(process.hrtime.bigint() - sent) / 1e6)
							: reject(new Error(String(res.statusCode))),
					);
				},
			);
			req.on("error", reject);
			req.end(BODY);
		});
	// Warm the connection pool so the measurement does not include TCP setup.
	await Promise.all(
		Array.from({ length: 32 }, (_, i) =>
			send(cookies[i % cookies.length] as string).catch(() => 0),
		),
	);
	const latencies: number[] = [];
	let errors = 0;
	const inFlight: Promise<void>[] = [];
	const total = Math.round(rate * seconds);
	const cpuBefore = workerdCpuMs();
	const started = performance.now();
	for (let i = 0; i < total; i++) {
		const wait = started + (i * 1000) / rate - performance.now();
		if (wait > 1) await new Promise((r) => setTimeout(r, wait));
		inFlight.push(
			send(cookies[i % cookies.length] as string).then(
				(ms) => void latencies.push(ms),
				() => void errors++,
			),
		);
	}
	await Promise.all(inFlight);
	const cpuAfter = workerdCpuMs();
	agent.destroy();
	latencies.sort((a, b) => a - b);
	const at = (q: number) =>
		latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
	const cpuUs =
		cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1000) / total;
	return { rate, p50: at(0.5), p99: at(0.99), errors, cpuUs };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));

const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function workers(
	stubPath: string,
	barePath: string,
	stubUrl: string | null = null,
): WorkerOptions[] {
	return [
		{
			name: "stub",
			modules: true,
			scriptPath: stubPath,
			modulesRoot: join(stubPath, ".."),
			compatibilityDate: COMPATIBILITY_DATE,
		},
		{
			name: "bare",
			modules: true,
			scriptPath: barePath,
			modulesRoot: join(barePath, ".."),
			compatibilityDate: COMPATIBILITY_DATE,
			serviceBindings: { STUB: "stub" },
			bindings: stubUrl ? { STUB_URL: stubUrl } : {},
			unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
		},
	];
}

/** Predictions per counting phase: three full batches of observations (six for a shadow). */
const COUNTED_PREDICTIONS = 3000;

interface Counters {
	predictions: number;
	kvRequests: number;
	kvKeysRead: number;
	doRequests: number;
	ingestRequests: number;
	idle: boolean;
}

/** The instrumented router's counters once its recorder has nothing pending or in flight. */
async function flushedCounters(url: string, guardMs = 60_000): Promise<Counters> {
	const deadline = Date.now() + guardMs;
	for (;;) {
		const c = (await (await fetch(`${url}/__bench/counters`)).json()) as Counters;
		if (c.idle) return c;
		if (Date.now() > deadline) throw new Error("the router's recorder never went idle");
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

async function countPlatformOps(
	options: BenchOptions,
	built: { instrumented: string; stub: string; bare: string },
	cookies: string[],
) {
	const stack = await startStack({
		routerDir: join(built.instrumented, ".."),
		routerScript: built.instrumented,
		extraWorkers: workers(built.stub, built.bare),
		serviceBindings: { STUB: "stub" },
		directSocket: true,
	});
	try {
		await seedKv(stack);
		const url = (await stack.miniflare.unsafeGetDirectURL("switchyard"))
			.toString()
			.replace(/\/$/, "");
		const counts: Record<string, PlatformCounts> = {};
		for (const name of ["bench-canary", "bench-shadow"]) {
			await fetch(`${url}/__bench/counters?reset`);
			// A fixed number of predictions, a whole number of batches, counted once the recorder
			// has flushed them: how many flushes fall inside a fixed time window depends on the
			// machine's speed (a loaded one made none in 3 s).
			const started = performance.now();
			await load(url, `/v1/models/${name}/predict`, cookies, options, COUNTED_PREDICTIONS);
			const c = await flushedCounters(url);
			const seconds = (performance.now() - started) / 1000;
			const per1000 = (x: number) => (c.predictions > 0 ? (1000 * x) / c.predictions : 0);
			// Miniflare runs one isolate; a shadow prediction records two observations.
			const observationsPerPrediction = name === "bench-shadow" ? 2 : 1;
			const model =
				c.predictions > 0
					? capacity({
							rps: (c.predictions * observationsPerPrediction) / seconds,
							deployments: 1,
							isolates: 1,
							feedbackShare: 0,
							shards: DEFAULT_SHARDS,
						}).flushRequestsPer1000 * observationsPerPrediction
					: 0;
			counts[name] = {
				kvRequests: per1000(c.kvRequests),
				kvKeysRead: per1000(c.kvKeysRead),
				durableObjectRequests: per1000(c.doRequests),
				ingestRequests: per1000(c.ingestRequests),
				modelIngestRequests: model,
			};
		}
		return counts;
	} finally {
		await stack.dispose();
	}
}

/** One minute of a seeded deployment's traffic, as one push of its shards (10,000 requests). */
function seededPush(minute: number, generation: number): ShardPush {
	return {
		incarnation: "bench-seed",
		from: generation - 1,
		to: generation,
		rows: [
			{
				minute,
				variant: "champion",
				threshold: 500,
				epoch: 0,
				aggregate: expectedAggregate(9500, 40, { median: 60, sigma: 0.5 }),
			},
			{
				minute,
				variant: "candidate",
				threshold: 500,
				epoch: 0,
				aggregate: expectedAggregate(500, 2, { median: 60, sigma: 0.5 }),
			},
		],
		samples: [],
		feedback: [],
	};
}

/**
 * Times one cron run over `cronDeployments` canaries with seeded metrics:
 * every deployment's object holds a minute of traffic its shards pushed,
 * not folded yet, so each look folds it and analyses (the steady state of a
 * busy installation), after a warm-up run that adopts the seeded states.
 */
async function timeCron(
	options: BenchOptions,
	routerDir: string,
	stubPath: string,
): Promise<CronTiming> {
	const stack = await startStack({
		routerDir,
		serviceBindings: { STUB: "stub" },
		extraWorkers: [workers(stubPath, stubPath)[0] as WorkerOptions],
	});
	try {
		const kv = await stack.miniflare.getKVNamespace("CONFIG");
		const objects = await stack.miniflare.getDurableObjectNamespace("DEPLOYMENT");
		const names = Array.from({ length: options.cronDeployments }, (_, i) => `cron-${i}`);
		const stage = (minute: number, generation: number) =>
			poolOf(names, 16, async (name) => {
				const object = objects.get(objects.idFromName(name)) as unknown as {
					stage(shard: number, push: ShardPush): Promise<unknown>;
				};
				await object.stage(0, seededPush(minute, generation));
			});
		await poolOf(names, 16, async (name) => {
			await kv.put(
				`deployment:${name}`,
				JSON.stringify({
					name,
					strategy: "canary",
					champion: { version: "a", service: "STUB" },
					candidate: { version: "b", service: "STUB" },
				}),
			);
			await kv.put(`state:${name}`, JSON.stringify({ status: "running", weight: 5, step: 1 }));
		});
		const minute = Math.floor(Date.now() / 60_000);
		await stage(minute - 1, 1);
		// One warm-up run adopts the seeded states and folds the first minute.
		await (await fetch(`${stack.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`)).text();
		await stage(minute, 2);
		const started = performance.now();
		const res = await fetch(`${stack.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`);
		await res.text();
		return {
			deployments: options.cronDeployments,
			seconds: (performance.now() - started) / 1000,
		};
	} finally {
		await stack.dispose();
	}
}

/** Runs `task` over `items`, `limit` at a time. */
async function poolOf<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) await task(items[next++] as T);
		}),
	);
}

interface Built {
	stub: string;
	bare: string;
	instrumented: string;
}

/** Both scenarios in one backend mode: rounds of fixed-rate and saturation phases, in alternation. */
async function measureMode(
	mode: BackendMode,
	options: BenchOptions,
	routerDir: string,
	built: Built,
	cookies: string[],
): Promise<ModeResults> {
	const log = options.log ?? (() => {});
	const stub = mode === "url" ? await startStubServer() : null;
	const stack = await startStack({
		routerDir,
		vars: options.vars,
		extraWorkers: workers(built.stub, built.bare, stub?.url ?? null),
		serviceBindings: { STUB: "stub" },
		directSocket: true,
	});
	const results: Partial<ModeResults> = {};
	try {
		await seedKv(stack, stub?.url ?? null);
		const router = (await stack.miniflare.unsafeGetDirectURL("switchyard"))
			.toString()
			.replace(/\/$/, "");
		const bare = (await stack.miniflare.unsafeGetDirectURL("bare")).toString().replace(/\/$/, "");
		log(`${mode} backends: warming up (${cookies.length} returning visitors) …`);
		await load(router, "/v1/models/bench-canary/predict", cookies, { ...options, duration: 1 });
		await load(bare, "/predict", cookies, { ...options, duration: 1 });
		for (const [key, name] of [
			["canary5", "bench-canary"],
			["shadow", "bench-shadow"],
		] as const) {
			const rate =
				options.rate > 0 ? options.rate : await calibrate(router, bare, name, cookies, options);
			const rounds: ScenarioResult["rounds"] = [];
			for (let round = 0; round < options.rounds; round++) {
				// Latency at a fixed rate first, each phase after a pause: background work left by a
				// saturated phase (metric flushes, garbage collection) shares workerd's thread.
				await settle();
				const bRate = await fixedRate(bare, "/predict", cookies, rate, options.duration);
				await settle();
				const sRate = await fixedRate(
					router,
					`/v1/models/${name}/predict`,
					cookies,
					rate,
					options.duration,
				);
				await settle();
				const b = await load(bare, "/predict", cookies, options);
				await settle();
				const s = await load(router, `/v1/models/${name}/predict`, cookies, options);
				rounds.push({ switchyard: s, bare: b, switchyardAtRate: sRate, bareAtRate: bRate });
				log(
					`${mode} ${name} round ${round + 1}: switchyard ${s.rps.toFixed(0)} req/s, bare ${b.rps.toFixed(0)} req/s; ` +
						`at ${rate} req/s p50/p99 switchyard ${sRate.p50.toFixed(2)}/${sRate.p99.toFixed(2)} ms, bare ${bRate.p50.toFixed(2)}/${bRate.p99.toFixed(2)} ms; ` +
						`CPU/prediction ${sRate.cpuUs?.toFixed(0) ?? "?"} µs vs ${bRate.cpuUs?.toFixed(0) ?? "?"} µs`,
				);
			}
			results[key] = summarizeRounds(rounds, rate);
		}
	} finally {
		await stack.dispose();
		await stub?.stop();
	}
	return results as ModeResults;
}

/**
 * The fixed rate the latency is measured at: half the bare proxy's capacity,
 * or 60 % of Switchyard's where that is lower (above its capacity a fixed
 * rate measures only a growing queue; at 80 % the calibration's own noise
 * put the rate past it in two scenarios of four).
 */
async function calibrate(
	router: string,
	bare: string,
	name: string,
	cookies: string[],
	options: BenchOptions,
): Promise<number> {
	const duration = Math.max(2, Math.round(options.duration / 2));
	await settle();
	const b = await load(bare, "/predict", cookies, { ...options, duration });
	await settle();
	const s = await load(router, `/v1/models/${name}/predict`, cookies, { ...options, duration });
	return Math.max(10, Math.round(Math.min(b.rps * 0.5, s.rps * 0.6)));
}

function summarizeRounds(rounds: ScenarioResult["rounds"], rate: number): ScenarioResult {
	const pick = (f: (p: Phase) => number, who: "switchyard" | "bare") =>
		median(rounds.map((r) => f(r[who])));
	const atRate = (f: (p: LatencyPhase) => number, who: "switchyardAtRate" | "bareAtRate") =>
		median(rounds.map((r) => f(r[who])));
	const p50 = {
		switchyard: atRate((p) => p.p50, "switchyardAtRate"),
		bare: atRate((p) => p.p50, "bareAtRate"),
	};
	const p99 = {
		switchyard: atRate((p) => p.p99, "switchyardAtRate"),
		bare: atRate((p) => p.p99, "bareAtRate"),
	};
	const measuredCpu = rounds.every(
		(r) => r.switchyardAtRate.cpuUs !== null && r.bareAtRate.cpuUs !== null,
	);
	const cpu = measuredCpu
		? {
				switchyard: atRate((p) => p.cpuUs ?? 0, "switchyardAtRate"),
				bare: atRate((p) => p.cpuUs ?? 0, "bareAtRate"),
			}
		: null;
	return {
		throughputRatio: median(rounds.map((r) => r.switchyard.rps / r.bare.rps)),
		rps: { switchyard: pick((p) => p.rps, "switchyard"), bare: pick((p) => p.rps, "bare") },
		latencyMs: {
			rate,
			p50: { ...p50, added: p50.switchyard - p50.bare },
			p99: { ...p99, added: p99.switchyard - p99.bare },
		},
		saturatedLatencyMs: {
			p50: { switchyard: pick((p) => p.p50, "switchyard"), bare: pick((p) => p.p50, "bare") },
			p99: { switchyard: pick((p) => p.p99, "switchyard"), bare: pick((p) => p.p99, "bare") },
		},
		cpuUsPerPrediction: cpu ? { ...cpu, added: cpu.switchyard - cpu.bare } : null,
		rounds,
	};
}

/** Profiles the router under a canary's saturating load (service mode), on a stack of its own. */
async function profileCanary(
	options: BenchOptions,
	routerDir: string,
	built: Built,
	cookies: string[],
): Promise<ProfileSummary | null> {
	const inspectorPort = 19_229;
	const stack = await startStack({
		routerDir,
		vars: options.vars,
		extraWorkers: workers(built.stub, built.bare),
		serviceBindings: { STUB: "stub" },
		directSocket: true,
		inspectorPort,
	});
	try {
		await seedKv(stack);
		const router = (await stack.miniflare.unsafeGetDirectURL("switchyard"))
			.toString()
			.replace(/\/$/, "");
		await load(router, "/v1/models/bench-canary/predict", cookies, { ...options, duration: 1 });
		return await profileWorker(inspectorPort, "switchyard", () =>
			load(router, "/v1/models/bench-canary/predict", cookies, {
				...options,
				duration: Math.max(2, options.duration),
			}),
		);
	} catch (error) {
		(options.log ?? (() => {}))(`profile skipped: ${String(error)}`);
		return null;
	} finally {
		await stack.dispose();
	}
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
	const log = options.log ?? (() => {});
	mkdirSync(options.workDir, { recursive: true });
	log(
		"building the router (wrangler deploy --dry-run), the bare proxy, the stub and the instrumented router …",
	);
	const routerDir = buildRouter(join(options.workDir, "router"));
	const built: Built = {
		stub: await buildWorker(
			"scripts/bench/stub-model.ts",
			join(options.workDir, "stub", "index.js"),
		),
		bare: await buildWorker(
			"scripts/bench/bare-proxy.ts",
			join(options.workDir, "bare", "index.js"),
		),
		instrumented: await buildWorker(
			"scripts/bench/instrumented-router.ts",
			join(options.workDir, "instrumented", "index.js"),
		),
	};

	// Returning visitors: signed cookies, valid on every stack (they share the signing key).
	const cookieStack = await startStack({
		routerDir,
		extraWorkers: workers(built.stub, built.bare),
		serviceBindings: { STUB: "stub" },
		directSocket: true,
	});
	let cookies: string[];
	try {
		await seedKv(cookieStack);
		const router = (await cookieStack.miniflare.unsafeGetDirectURL("switchyard"))
			.toString()
			.replace(/\/$/, "");
		cookies = await collectCookies(router, Math.min(COOKIES, 200 * options.rounds + 200));
	} finally {
		await cookieStack.dispose();
	}

	const modes: Record<BackendMode, ModeResults> = {
		service: await measureMode("service", options, routerDir, built, cookies),
		url: await measureMode("url", options, routerDir, built, cookies),
	};

	log("profiling the router under load (canary at 5 %, service binding) …");
	const profile = await profileCanary(options, routerDir, built, cookies);

	log("counting KV and Durable Object requests on the instrumented router …");
	const counts = await countPlatformOps(options, built, cookies);
	const none: PlatformCounts = {
		kvRequests: 0,
		kvKeysRead: 0,
		durableObjectRequests: 0,
		ingestRequests: 0,
		modelIngestRequests: 0,
	};

	log(`timing one cron evaluation of ${options.cronDeployments} deployments with seeded metrics …`);
	const cron = await timeCron(options, routerDir, built.stub);

	return {
		generatedAt: new Date().toISOString(),
		machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version },
		settings: {
			connections: options.connections,
			durationSeconds: options.duration,
			rounds: options.rounds,
			rate: options.rate,
		},
		modes,
		platformPer1000Predictions: {
			canary5: counts["bench-canary"] ?? none,
			shadow: counts["bench-shadow"] ?? none,
		},
		profile,
		cron,
		targets: {
			throughputRatio: 0.9,
			shadowThroughputRatio: 0.6,
			addedP50Ms: 0.3,
			addedP99Ms: 1,
			kvReadsPer1000: 1,
			durableObjectRequestsPer1000: 10,
			cronSeconds: 10,
		},
	};
}

export { STACK_ADMIN_TOKEN };
