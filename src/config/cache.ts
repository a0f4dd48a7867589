/**
 * The edge's view of a deployment: spec and state from KV behind an
 * isolate-level cache.
 *
 * - Steady traffic costs one KV request (a bulk read of both keys) per
 *   deployment per isolate per TTL. After the TTL the first request reads KV
 *   (and waits for it); requests arriving meanwhile keep using the cached
 *   values (single flight, stale while revalidating), so one prediction per
 *   TTL pays for a KV read. A change in KV thus reaches an isolate within the
 *   TTL plus one KV read. The read is never awaited from another request (a
 *   cancelled request's I/O would leave it hanging), except on a cold
 *   isolate, which has nothing else to serve and waits at most
 *   INFLIGHT_LIMIT_MS.
 * - Revisions only move forward: a state whose revision is lower than the
 *   one this isolate already serves is a stale KV copy and is not adopted.
 * - Bad config never takes traffic down. An invalid value is logged once per
 *   distinct value and the last good one stays in use. When there is no last
 *   good spec (a cold isolate) and KV holds an invalid one, or cannot be
 *   read, the deployment object's last valid spec and state are used instead
 *   (`rescue`: one object call per isolate per TTL, only in this failure
 *   mode). A missing spec makes the deployment unknown (404); a missing or
 *   bad state falls back to the last good state, then to "pending"
 *   (champion only).
 * - Unknown names cost nothing: the index of names (`index:deployments`, one
 *   KV key read once per TTL, the same way) answers them, and they never
 *   enter the cache, so junk names cannot evict real entries. Without an
 *   index (before the first cron run of an installation) names are looked up
 *   one by one, unknown ones cached too; the cache holds at most MAX_ENTRIES.
 */

import { logError as log } from "../lib/log";
import { nameOfKey } from "./keys";
import { parseSpecFor, parseState, readIndex, readRaw } from "./kv";
import type { ConfigIssue, Parsed } from "./parse";
import type { DeploymentSpec } from "./spec";
import { type KvRolloutState, PENDING } from "./state";

const MAX_ENTRIES = 1000;

/** The deployment object's last valid configuration, for when KV has none to offer. */
export interface RescuedConfig {
	spec: DeploymentSpec;
	state: KvRolloutState;
}

export type DeploymentView =
	| { kind: "missing" }
	| { kind: "unavailable"; issues: ConfigIssue[] }
	| {
			kind: "ok";
			spec: DeploymentSpec;
			state: KvRolloutState;
			/** Changes whenever the spec or the state this isolate serves changes. */
			generation: number;
			/** Problems with the current KV values that the last good values are covering for. */
			specIssues?: ConfigIssue[];
			stateIssues?: ConfigIssue[];
			/** The spec came from the deployment object because KV had no valid one. */
			rescued?: true;
	  };

interface Slot<T> {
	raw: string | null;
	good?: T;
	issues?: ConfigIssue[];
}

interface Entry {
	fetchedAt: number;
	generation: number;
	spec: Slot<DeploymentSpec>;
	state: Slot<KvRolloutState>;
	rescued?: RescuedConfig;
	inflight?: Promise<void>;
	inflightSince?: number;
	/** Refresh attempts started, and the newest one applied (an abandoned slow read must not win). */
	started: number;
	applied: number;
}

/** A refresh that has not landed after this long is abandoned: the next request starts another. */
const INFLIGHT_LIMIT_MS = 5_000;

const entries = new Map<string, Entry>();
let generations = 0;

/** The index of names, refreshed like an entry: once per TTL, by the request that finds it stale. */
const index: {
	names: Set<string> | null;
	fetchedAt: number;
	inflight?: Promise<void>;
	inflightSince?: number;
} = { names: null, fetchedAt: Number.NEGATIVE_INFINITY };

export interface LoadOptions {
	ttlMs: number;
	now?: number;
	/** Asks the deployment object for its last valid config (cold isolate, bad or unreadable KV). */
	rescue?: (name: string) => Promise<RescuedConfig | null>;
}

/** The deployment's spec and state, from the cache when fresh. */
export async function loadDeployment(
	kv: KVNamespace,
	name: string,
	options: LoadOptions,
): Promise<DeploymentView> {
	const now = options.now ?? Date.now();
	const known = await knownNames(kv, now, options.ttlMs);
	if (known !== null && !known.has(name)) return { kind: "missing" };
	let entry = entries.get(name);
	if (!entry) {
		entry = {
			fetchedAt: Number.NEGATIVE_INFINITY,
			generation: ++generations,
			spec: { raw: null },
			state: { raw: null },
			started: 0,
			applied: 0,
		};
		remember(name, entry);
	}
	if (now - entry.fetchedAt >= options.ttlMs) {
		const stuck =
			entry.inflight !== undefined && now - (entry.inflightSince ?? now) > INFLIGHT_LIMIT_MS;
		if (!entry.inflight || stuck) {
			// This request reads KV itself, inside its own I/O context; concurrent requests keep
			// using the cached values meanwhile (or, on a cold isolate, wait for this read).
			const current = entry;
			const attempt = refresh(kv, name, current, now, ++current.started, options.rescue).finally(
				() => {
					if (current.inflight === attempt) current.inflight = undefined;
				},
			);
			current.inflight = attempt;
			current.inflightSince = now;
			await attempt;
		} else if (entry.fetchedAt === Number.NEGATIVE_INFINITY || options.ttlMs === 0) {
			// A cold isolate has nothing to serve yet (and a TTL of 0 asks for fresh values):
			// wait for the read under way, but not forever.
			await Promise.race([
				entry.inflight,
				new Promise((resolve) => setTimeout(resolve, INFLIGHT_LIMIT_MS)),
			]);
		}
	}
	return view(entry);
}

/** The names in the index (null without one), from the cache when fresh. */
async function knownNames(
	kv: KVNamespace,
	now: number,
	ttlMs: number,
): Promise<Set<string> | null> {
	if (now - index.fetchedAt >= ttlMs) {
		const stuck =
			index.inflight !== undefined && now - (index.inflightSince ?? now) > INFLIGHT_LIMIT_MS;
		if (!index.inflight || stuck) {
			const attempt = readIndex(kv)
				.then(
					(names) => {
						index.names = names === null ? null : new Set(names);
						index.fetchedAt = now;
					},
					(error: unknown) => {
						// As for the deployments' keys: keep what is cached (or no index) until the next
						// TTL, so an outage costs one failing read per TTL, not one per request.
						log("index_read_failed", { message: String(error) });
						index.fetchedAt = now;
					},
				)
				.finally(() => {
					if (index.inflight === attempt) index.inflight = undefined;
				});
			index.inflight = attempt;
			index.inflightSince = now;
			await attempt;
		} else if (index.fetchedAt === Number.NEGATIVE_INFINITY || ttlMs === 0) {
			await Promise.race([
				index.inflight,
				new Promise((resolve) => setTimeout(resolve, INFLIGHT_LIMIT_MS)),
			]);
		}
	}
	return index.names;
}

/** Forgets a deployment (and the index) so the next request reads KV (after a write from this isolate). */
export function invalidateDeployment(name: string): void {
	entries.delete(name);
	index.fetchedAt = Number.NEGATIVE_INFINITY;
}

/** Forgets everything (tests). */
export function clearConfigCache(): void {
	entries.clear();
	index.names = null;
	index.fetchedAt = Number.NEGATIVE_INFINITY;
}

function remember(name: string, entry: Entry): void {
	if (entries.size >= MAX_ENTRIES) {
		const oldest = entries.keys().next().value;
		if (oldest !== undefined) entries.delete(oldest);
	}
	entries.set(name, entry);
}

async function refresh(
	kv: KVNamespace,
	name: string,
	entry: Entry,
	now: number,
	attempt: number,
	rescue: LoadOptions["rescue"],
): Promise<void> {
	let values: { spec: string | null; state: string | null } | null = null;
	try {
		values = await readRaw(kv, name);
	} catch (error) {
		// Keep serving what is cached, and try again after a TTL, not on every request: a KV
		// outage costs one failing read per deployment per TTL, not one per request.
		log("config_read_failed", { deployment: name, message: String(error) });
		if (entry.spec.good) entry.fetchedAt = now;
		else if (entry.fetchedAt === Number.NEGATIVE_INFINITY) {
			entry.spec = { raw: "", issues: [{ path: "", message: "KV could not be read" }] };
		}
	}
	if (attempt < entry.applied) return;
	entry.applied = attempt;
	if (values) {
		const specChanged = update(
			entry.spec,
			values.spec,
			(text) => parseSpecFor(name, text),
			`deployment:${name}`,
		);
		const stateChanged = update(entry.state, values.state, parseState, `state:${name}`, isNotOlder);
		if (specChanged || stateChanged) entry.generation = ++generations;
		entry.fetchedAt = now;
	}
	const needsRescue = entry.spec.good === undefined && entry.spec.raw !== null;
	if (needsRescue && rescue) {
		try {
			const rescued = await rescue(name);
			if (rescued && rescued.spec !== entry.rescued?.spec) entry.generation = ++generations;
			entry.rescued = rescued ?? undefined;
		} catch (error) {
			log("config_rescue_failed", { deployment: name, message: String(error) });
		}
		// Until the next TTL: one object call per isolate per TTL in this failure mode.
		if (!values) entry.fetchedAt = now;
	} else if (!needsRescue) {
		entry.rescued = undefined;
	}
}

/** A state with a revision lower than the one already served is a stale KV copy. */
function isNotOlder(next: KvRolloutState, current: KvRolloutState | undefined): boolean {
	return (
		current?.revision === undefined ||
		next.revision === undefined ||
		next.revision >= current.revision
	);
}

/** Applies a newly read raw value to its slot; true when what the slot serves changed. */
function update<T>(
	slot: Slot<T>,
	raw: string | null,
	parse: (text: string) => Parsed<T>,
	key: string,
	accept: (next: T, current: T | undefined) => boolean = () => true,
): boolean {
	if (raw === slot.raw) return false;
	slot.raw = raw;
	if (raw === null) {
		const had = slot.good !== undefined;
		slot.good = undefined;
		slot.issues = undefined;
		return had;
	}
	const parsed = parse(raw);
	if (parsed.ok) {
		slot.issues = undefined;
		if (!accept(parsed.value, slot.good)) {
			log("stale_config_ignored", { deployment: nameOfKey(key), key });
			return false;
		}
		slot.good = parsed.value;
		return true;
	}
	slot.issues = parsed.issues;
	log("invalid_config", {
		deployment: nameOfKey(key),
		key,
		keptLastGood: slot.good !== undefined,
		issues: parsed.issues,
	});
	return false;
}

function view(entry: Entry): DeploymentView {
	const { spec, state, generation } = entry;
	if (spec.raw === null) return { kind: "missing" };
	const issues = {
		...(spec.issues ? { specIssues: spec.issues } : {}),
		...(state.issues ? { stateIssues: state.issues } : {}),
	};
	if (spec.good) {
		return { kind: "ok", spec: spec.good, state: state.good ?? PENDING, generation, ...issues };
	}
	if (entry.rescued) {
		const fromKv = state.good;
		const newer =
			fromKv && (fromKv.revision ?? 0) >= (entry.rescued.state.revision ?? 0)
				? fromKv
				: entry.rescued.state;
		return {
			kind: "ok",
			spec: entry.rescued.spec,
			state: newer,
			generation,
			rescued: true,
			...issues,
		};
	}
	return { kind: "unavailable", issues: spec.issues ?? [] };
}
