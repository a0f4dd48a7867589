/**
 * The capacity and cost model behind `npm run capacity`: for a traffic
 * (predictions per second, deployments, isolates, feedback share, shards),
 * the requests per second each object receives, the KV reads, object
 * requests, rows written and storage, and the cost from Cloudflare's prices
 * (prices.ts). Pure.
 *
 * It follows the code's own rules: the recorder's flush rule
 * (src/metrics/flush-rule.ts, flushCycleMs), the settings' defaults
 * (src/config/settings.ts: batch size, flush interval, config TTL, hand-off and
 * push intervals, windows), the shard choice (every isolate's flushes spread
 * evenly over the shards, feedback de-duplicated in its unit's shard, handed
 * on once per INGEST_FORWARD_MS), the pushes (every INGEST_PUSH_MS while a
 * shard has data) and the rows each SQL statement writes (a keyed write on a
 * WITHOUT ROWID table is one row, on a rowid table with a composite key two,
 * as measured in workerd; deletes and setAlarm() count as writes).
 *
 * Assumptions (stated in the output): traffic spread evenly over
 * deployments and isolates, every isolate serving every deployment (the most
 * flushes), feedback arriving at isolates like predictions, Poisson
 * arrivals, no failures and no retries; Worker CPU per request and object
 * wall time per request are inputs, not measurements.
 */
import { type Settings, settingsOf } from "../../src/config/settings";
import { DEFAULT_SHARDS, MAX_SHARDS } from "../../src/config/shards";
import { flushCycleMs } from "../../src/metrics/flush-rule";
import { DURABLE_OBJECTS, KV, LIMITS, PRICES_READ_ON, WORKERS } from "./prices";

export interface Traffic {
	/** Predictions per second over all deployments. */
	rps: number;
	deployments: number;
	/** Isolates serving them (each serving every deployment). */
	isolates: number;
	/** Feedback values per prediction (0.1: one prediction in ten gets one). */
	feedbackShare: number;
	/** Ingest shards per deployment. */
	shards: number;
	/** Tokenless feedback (`feedback.public`): a second de-duplication key per value. */
	publicFeedback?: boolean;
}

export interface Assumptions {
	/** Worker CPU per request (prediction or feedback), ms. Not measured here. */
	cpuMsPerRequest: number;
	/** Wall time an object is busy per request, ms (for duration billing; capped at always busy). */
	objectMsPerRequest: number;
	/** Variants with traffic, each at one routing threshold (2: champion and candidate). */
	variants: number;
	/** Latency buckets per stored minute row (a 4 % histogram of a log-normal with σ 0.5 fills about 75). */
	bucketsPerRow: number;
	/** Bytes stored per de-duplication key, batch id, minute row and bucket row. */
	bytes: { seenKey: number; batchId: number; minuteRow: number; bucketRow: number };
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
	cpuMsPerRequest: 1,
	objectMsPerRequest: 5,
	variants: 2,
	bucketsPerRow: 75,
	bytes: { seenKey: 48, batchId: 48, minuteRow: 160, bucketRow: 48 },
};

/** The settings the model reads (the worker's defaults unless given). */
export type ModelSettings = Pick<
	Settings,
	| "METRICS_BATCH_SIZE"
	| "METRICS_FLUSH_MS"
	| "CONFIG_TTL_SECONDS"
	| "INGEST_FORWARD_MS"
	| "INGEST_PUSH_MS"
	| "FEEDBACK_WINDOW_DAYS"
	| "METRICS_RETENTION_DAYS"
	| "FEEDBACK_SEEN_LIMIT"
>;

export function defaultSettings(): ModelSettings {
	const all = settingsOf({});
	return {
		METRICS_BATCH_SIZE: all.METRICS_BATCH_SIZE,
		METRICS_FLUSH_MS: all.METRICS_FLUSH_MS,
		CONFIG_TTL_SECONDS: all.CONFIG_TTL_SECONDS,
		INGEST_FORWARD_MS: all.INGEST_FORWARD_MS,
		INGEST_PUSH_MS: all.INGEST_PUSH_MS,
		FEEDBACK_WINDOW_DAYS: all.FEEDBACK_WINDOW_DAYS,
		METRICS_RETENTION_DAYS: all.METRICS_RETENTION_DAYS,
		FEEDBACK_SEEN_LIMIT: all.FEEDBACK_SEEN_LIMIT,
	};
}

/** A shard's alarm runs retention every 10 minutes, the object's hourly; the cron looks once a minute. */
const SHARD_RETENTION_PER_SECOND = 1 / 600;
const OBJECT_RETENTION_PER_SECOND = 1 / 3600;
const LOOKS_PER_SECOND = 1 / 60;
/** Batch ids are kept an hour (src/ingest/shard.ts BATCH_ID_TTL_MS). */
const BATCH_ID_SECONDS = 3600;
const DAY = 86_400;

export interface Capacity {
	traffic: Required<Traffic>;
	settings: ModelSettings;
	assumptions: Assumptions;
	perIsolateAndDeployment: {
		predictionsPerSecond: number;
		feedbackPerSecond: number;
		/** Mean time between an isolate's flushes of one deployment. */
		flushIntervalSeconds: number;
	};
	/** Requests per second one object receives, by source. */
	requestsPerSecond: {
		ingestShard: { flushes: number; handOffs: number; alarms: number; total: number };
		deploymentObject: { pushes: number; looks: number; alarms: number; total: number };
	};
	maxRequestsPerSecondPerObject: number;
	/** The smallest shard count keeping every object at or below the 500 requests/s target. */
	recommendedShards: number;
	/** KV read requests per 1,000 predictions (a request may read two keys). */
	kvReadsPer1000: number;
	kvKeysReadPer1000: number;
	/** Every Durable Object request (flushes, hand-offs, alarms, pushes, looks) per 1,000 predictions. */
	objectRequestsPer1000: number;
	/** Of which isolates' flushes: what `npm run bench` counts on the router. */
	flushRequestsPer1000: number;
	rowsWrittenPerDay: number;
	storage: {
		/** Bytes written per day into tables that keep them (de-duplication keys, minutes, batch ids). */
		bytesPerDay: number;
		/** Bytes held once retention keeps pace (all objects), every feedback value de-duplicated. */
		steadyStateBytes: number;
		/** The largest per-object share: one shard's de-duplication keys and batch ids. */
		perShardBytes: number;
		/** One shard's share fits the 10 GB an object may hold. */
		fitsInObject: boolean;
		/** De-duplication keys one shard must hold for the feedback window, and its cap. */
		seenKeysPerShard: number;
		seenKeysCapPerShard: number;
		/** Seconds until the de-duplication set is full (then feedback is refused), or null if it never fills. */
		secondsUntilFeedbackFull: number | null;
	};
	costPerDay: {
		workersRequests: number;
		workersCpu: number;
		kvReads: number;
		objectRequests: number;
		objectDuration: number;
		rowsWritten: number;
		storage: number;
		total: number;
	};
	costPerMillionPredictions: number;
	goals: {
		maxRequestsPerSecondPerObject: { value: number; target: number; met: boolean };
		kvReadsPer1000: { value: number; target: number; met: boolean };
		objectRequestsPer1000: { value: number; target: number; met: boolean };
	};
	notes: string[];
}

/** Requests per second arriving at one shard and at the deployment object, for `shards` shards. */
function objectLoads(traffic: Required<Traffic>, settings: ModelSettings, shards: number) {
	const { rps, deployments: D, isolates: I, feedbackShare } = traffic;
	const N = shards;
	const r = rps / (I * D);
	const phi = feedbackShare * r;
	const cycleSeconds =
		flushCycleMs(r + phi, {
			batchSize: settings.METRICS_BATCH_SIZE,
			flushMs: settings.METRICS_FLUSH_MS,
		}) / 1000;
	const flushesPerSecond = Number.isFinite(cycleSeconds) ? (I * D) / cycleSeconds : 0;
	const flushes = flushesPerSecond / (D * N);
	// Hand-offs: a shard's values for siblings open a round that goes INGEST_FORWARD_MS later,
	// one call per target that got a value meanwhile.
	const feedbackPerDeployment = (feedbackShare * rps) / D;
	const out = N > 1 ? (feedbackPerDeployment / N) * ((N - 1) / N) : 0;
	const tau = settings.INGEST_FORWARD_MS / 1000;
	const rounds = out > 0 ? 1 / (tau + 1 / out) : 0;
	const perTarget = feedbackPerDeployment / (N * N);
	const targetsPerRound = N > 1 ? 1 + (N - 2) * (1 - Math.exp(-perTarget * tau)) : 0;
	const handOffs = rounds * targetsPerRound;
	// Pushes: once a shard holds new data, it pushes INGEST_PUSH_MS later.
	const writes = flushes + handOffs;
	const pushes = writes > 0 ? 1 / (settings.INGEST_PUSH_MS / 1000 + 1 / writes) : 0;
	const shardAlarms = rounds + pushes + (writes > 0 ? SHARD_RETENTION_PER_SECOND : 0);
	const shard = {
		flushes,
		handOffs,
		alarms: shardAlarms,
		total: flushes + handOffs + shardAlarms,
	};
	const object = {
		pushes: N * pushes,
		looks: LOOKS_PER_SECOND,
		alarms: OBJECT_RETENTION_PER_SECOND,
		total: N * pushes + LOOKS_PER_SECOND + OBJECT_RETENTION_PER_SECOND,
	};
	return {
		r,
		phi,
		cycleSeconds,
		flushesPerSecond,
		rounds,
		targetsPerRound,
		handOffs,
		pushes,
		shard,
		object,
		feedbackPerDeployment,
	};
}

export function capacity(
	input: Traffic,
	settings: ModelSettings = defaultSettings(),
	assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
): Capacity {
	const traffic: Required<Traffic> = { publicFeedback: false, ...input };
	const { rps, deployments: D, isolates: I, feedbackShare, shards: N } = traffic;
	if (!(rps > 0 && D >= 1 && I >= 1 && N >= 1 && feedbackShare >= 0))
		throw new RangeError("rps > 0, deployments, isolates and shards ≥ 1, feedback share ≥ 0");
	const load = objectLoads(traffic, settings, N);
	const feedbackRps = feedbackShare * rps;
	const keysPerValue = traffic.publicFeedback ? 2 : 1;
	const V = assumptions.variants;

	// Durable Object requests, all of them.
	const objectRequestsPerSecond =
		load.flushesPerSecond +
		D * N * (load.shard.handOffs + load.shard.alarms) +
		D * load.object.total;

	// KV: each isolate reads a deployment's spec and state (one request, two keys) once per TTL
	// when it has traffic for it, and the index of names (one key) once per TTL; each look reads
	// spec and state; the cron lists the specs and reads the index once a minute.
	const ttl = settings.CONFIG_TTL_SECONDS;
	const perIsolateDeployment = load.r + load.phi;
	const configReads = I * D * (1 / (ttl + 1 / perIsolateDeployment));
	const indexReads = I * (1 / (ttl + 1 / (D * perIsolateDeployment)));
	const lookReads = D * LOOKS_PER_SECOND;
	const cronReads = LOOKS_PER_SECOND;
	const kvRequests = configReads + indexReads + lookReads + cronReads;
	const kvKeys = 2 * configReads + indexReads + 2 * lookReads + cronReads;

	// Rows written, per second, by operation.
	const flushes = load.flushesPerSecond;
	const keysPerFlush = V * (1 + load.cycleSeconds / 60);
	const valuesPerFlush = load.phi * load.cycleSeconds;
	const remoteTargetsPerFlush = N > 1 ? (N - 1) * (1 - Math.exp(-valuesPerFlush / N)) : 0;
	const localFeedbackKeys = Math.min(V, valuesPerFlush / N);
	const perFlush =
		2 + // batch id: insert, and its deletion an hour later
		keysPerFlush + // pending rows
		2 * remoteTargetsPerFlush + // hand-off queue rows: insert, delete
		localFeedbackKeys; // pending feedback of this shard's own units
	const perValue = 2 * keysPerValue; // de-duplication keys: insert, deletion after the window
	const handOffCalls = D * N * load.shard.handOffs;
	const perHandOff = Math.min(V, feedbackRps / Math.max(handOffCalls, 1e-9)); // pending feedback
	const forwardRounds = D * N * load.rounds;
	const perRound = 2; // the job's schedule and setAlarm()
	const pushes = D * N * load.pushes;
	const pushSeconds = settings.INGEST_PUSH_MS / 1000;
	const keysPerPush =
		V * (1 + pushSeconds / 60) + Math.min(V, feedbackRps / D / Math.max(N * load.pushes, 1e-9));
	const perPush =
		6 + // the shard's meta: closed at the push, confirmed after
		keysPerPush + // the confirmed generation's rows deleted
		2 + // the job's schedule and setAlarm()
		keysPerPush + // staged in the object (one row per key)
		1; // the object's cursor
	// A look folds the staging: each minute row and latency bucket (composite keys: 2 rows each),
	// later deleted again by retention; the staging emptied; the rollout record written.
	const foldRows = V * (2 + 2 * assumptions.bucketsPerRow) + (feedbackShare > 0 ? 2 * V : 0);
	const perLook = 2 * foldRows + 2 * V + 2;
	const rowsPerSecond =
		flushes * perFlush +
		feedbackRps * perValue +
		handOffCalls * perHandOff +
		forwardRounds * perRound +
		pushes * perPush +
		D * LOOKS_PER_SECOND * perLook;
	const rowsWrittenPerDay = rowsPerSecond * DAY;

	// Storage.
	const b = assumptions.bytes;
	const windowDays = settings.FEEDBACK_WINDOW_DAYS + 1; // kept by whole days
	const seenKeys = feedbackRps * keysPerValue * windowDays * DAY;
	const seenKeysPerShard = seenKeys / (D * N);
	const seenKeysCapPerShard = Math.ceil(settings.FEEDBACK_SEEN_LIMIT / N);
	const batchIds = flushes * BATCH_ID_SECONDS;
	const minuteBytes = V * (b.minuteRow + assumptions.bucketsPerRow * b.bucketRow);
	const objectBytes = D * minuteBytes * 1440 * settings.METRICS_RETENTION_DAYS;
	// Every value kept for exact de-duplication, as if FEEDBACK_SEEN_LIMIT allowed it (see notes).
	const steadyStateBytes = seenKeys * b.seenKey + batchIds * b.batchId + objectBytes;
	const perShardBytes = seenKeysPerShard * b.seenKey + (batchIds / (D * N)) * b.batchId;
	const bytesPerDay =
		feedbackRps * keysPerValue * DAY * b.seenKey +
		D * minuteBytes * 1440 +
		flushes * DAY * b.batchId;
	const valuesPerShardPerSecond = (feedbackRps * keysPerValue) / (D * N);
	const secondsUntilFeedbackFull =
		seenKeysPerShard > seenKeysCapPerShard && valuesPerShardPerSecond > 0
			? seenKeysCapPerShard / valuesPerShardPerSecond
			: null;

	// Duration: an object is billed at 128 MB while busy.
	const busy = (requestsPerSecond: number) =>
		Math.min(1, (requestsPerSecond * assumptions.objectMsPerRequest) / 1000);
	const gbSecondsPerSecond =
		DURABLE_OBJECTS.memoryGb * (D * N * busy(load.shard.total) + D * busy(load.object.total));

	const perDayMillions = (perSecond: number) => (perSecond * DAY) / 1e6;
	const workerRequests = rps + feedbackRps;
	const costPerDay = {
		workersRequests: perDayMillions(workerRequests) * WORKERS.requestsPerMillion,
		workersCpu:
			perDayMillions(workerRequests * assumptions.cpuMsPerRequest) * WORKERS.cpuPerMillionMs,
		kvReads: perDayMillions(KV.bulkReadsBilledPerKey ? kvKeys : kvRequests) * KV.readsPerMillion,
		objectRequests: perDayMillions(objectRequestsPerSecond) * DURABLE_OBJECTS.requestsPerMillion,
		objectDuration:
			perDayMillions(gbSecondsPerSecond) * DURABLE_OBJECTS.durationPerMillionGbSeconds,
		rowsWritten: perDayMillions(rowsPerSecond) * DURABLE_OBJECTS.rowsWrittenPerMillion,
		storage: (steadyStateBytes / 1024 ** 3) * (DURABLE_OBJECTS.storagePerGbMonth / 30),
		total: 0,
	};
	costPerDay.total =
		costPerDay.workersRequests +
		costPerDay.workersCpu +
		costPerDay.kvReads +
		costPerDay.objectRequests +
		costPerDay.objectDuration +
		costPerDay.rowsWritten +
		costPerDay.storage;

	const maxPerObject = Math.max(load.shard.total, load.object.total);
	const per1000 = (perSecond: number) => (1000 * perSecond) / rps;
	const kvReadsPer1000 = per1000(kvRequests);
	const objectRequestsPer1000 = per1000(objectRequestsPerSecond);
	const notes = [
		`prices read ${PRICES_READ_ON} (scripts/capacity/prices.ts); marginal prices beyond the monthly inclusions and the $${WORKERS.subscriptionPerMonth}/month plan`,
		`assumed: ${assumptions.cpuMsPerRequest} ms Worker CPU per request, ${assumptions.objectMsPerRequest} ms object wall time per request; traffic spread evenly, every isolate serving every deployment`,
		"KV reads are costed per key (whether a bulk read of two keys bills once is not confirmed)",
	];
	if (secondsUntilFeedbackFull !== null)
		notes.push(
			`exact feedback de-duplication over the ${settings.FEEDBACK_WINDOW_DAYS}-day window needs ${fmt(seenKeysPerShard)} keys per shard; FEEDBACK_SEEN_LIMIT (${fmt(settings.FEEDBACK_SEEN_LIMIT)}) allows ${fmt(seenKeysCapPerShard)}: full after ${fmt(secondsUntilFeedbackFull)} s, then feedback is refused (503 feedback_capacity) until old keys age out. Costs and storage here assume every value is kept`,
		);
	if (perShardBytes > LIMITS.objectStorageBytes)
		notes.push(
			`one shard would hold ${fmt(perShardBytes / 1e9)} GB, more than the 10 GB an object may: more shards (up to ${MAX_SHARDS}) or a shorter FEEDBACK_WINDOW_DAYS`,
		);
	return {
		traffic,
		settings,
		assumptions,
		perIsolateAndDeployment: {
			predictionsPerSecond: load.r,
			feedbackPerSecond: load.phi,
			flushIntervalSeconds: load.cycleSeconds,
		},
		requestsPerSecond: { ingestShard: load.shard, deploymentObject: load.object },
		maxRequestsPerSecondPerObject: maxPerObject,
		recommendedShards: recommendShards(traffic, settings),
		kvReadsPer1000,
		kvKeysReadPer1000: per1000(kvKeys),
		objectRequestsPer1000,
		flushRequestsPer1000: per1000(load.flushesPerSecond),
		rowsWrittenPerDay,
		storage: {
			bytesPerDay,
			steadyStateBytes,
			perShardBytes,
			fitsInObject: perShardBytes <= LIMITS.objectStorageBytes,
			seenKeysPerShard,
			seenKeysCapPerShard,
			secondsUntilFeedbackFull,
		},
		costPerDay,
		costPerMillionPredictions: costPerDay.total / perDayMillions(rps),
		goals: {
			maxRequestsPerSecondPerObject: {
				value: maxPerObject,
				target: LIMITS.objectTargetPerSecond,
				met: maxPerObject <= LIMITS.objectTargetPerSecond,
			},
			kvReadsPer1000: { value: kvReadsPer1000, target: 1, met: kvReadsPer1000 <= 1 },
			objectRequestsPer1000: {
				value: objectRequestsPer1000,
				target: 10,
				met: objectRequestsPer1000 <= 10,
			},
		},
		notes,
	};
}

/** The smallest shard count keeping every object at or below the per-object target. */
export function recommendShards(traffic: Required<Traffic>, settings: ModelSettings): number {
	for (let shards = 1; shards <= MAX_SHARDS; shards++) {
		const { shard, object } = objectLoads(traffic, settings, shards);
		if (Math.max(shard.total, object.total) <= LIMITS.objectTargetPerSecond) return shards;
	}
	return MAX_SHARDS;
}

/** The default isolate count for a traffic: 100 predictions a second each (1 M/s over 10,000). */
export function defaultIsolates(rps: number): number {
	return Math.max(1, Math.ceil(rps / 100));
}

export { DEFAULT_SHARDS };

function fmt(x: number): string {
	return x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toPrecision(3);
}
