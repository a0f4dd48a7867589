/**
 * The edge's view of a deployment: spec and state from KV behind an
 * isolate-level cache.
 *
 * - Steady traffic costs one KV request (a bulk read of both keys) per
 *   deployment per isolate per TTL. After the TTL the first request reads KV
 *   (and waits for it); requests arriving meanwhile keep using the cached
 *   values instead of reading too (single flight, stale while revalidating),
 *   so one prediction per TTL pays for a KV read. A change in KV thus reaches
 *   an isolate within the TTL plus one KV read. The read is never awaited
 *   from another request (a cancelled request's I/O would leave it hanging),
 *   except on a cold isolate, which has nothing else to serve and waits at
 *   most INFLIGHT_LIMIT_MS.
 * - An invalid value is logged once per distinct value and the last good one
 *   stays in use. A spec that was never valid makes the deployment
 *   unavailable (503); a missing spec makes it unknown (404); a bad or
 *   missing state falls back to the last good state, then to "pending"
 *   (champion only): bad config never takes traffic down.
 * - The cache holds at most MAX_ENTRIES names (unknown names included, so a
 *   scan of random names cannot turn into a KV read per request).
 */

import { specKey, stateKey } from "./keys";
import type { ConfigIssue, Parsed } from "./parse";
import { parseJsonWith } from "./parse";
import { DeploymentSpec } from "./spec";
import { PENDING, RolloutState } from "./state";

const MAX_ENTRIES = 1000;

export type DeploymentView =
	| { kind: "missing" }
	| { kind: "unavailable"; issues: ConfigIssue[] }
	| {
			kind: "ok";
			spec: DeploymentSpec;
			state: RolloutState;
			/** Problems with the current KV values that the last good values are covering for. */
			specIssues?: ConfigIssue[];
			stateIssues?: ConfigIssue[];
	  };

interface Slot<T> {
	raw: string | null;
	good?: T;
	issues?: ConfigIssue[];
}

interface Entry {
	fetchedAt: number;
	spec: Slot<DeploymentSpec>;
	state: Slot<RolloutState>;
	inflight?: Promise<void>;
	inflightSince?: number;
	/** Refresh attempts started, and the newest one applied (an abandoned slow read must not win). */
	started: number;
	applied: number;
}

/** A refresh that has not landed after this long is abandoned: the next request starts another. */
const INFLIGHT_LIMIT_MS = 5_000;

const entries = new Map<string, Entry>();

export interface LoadOptions {
	ttlMs: number;
	now?: number;
}

/** The deployment's spec and state, from the cache when fresh. */
export async function loadDeployment(
	kv: KVNamespace,
	name: string,
	options: LoadOptions,
): Promise<DeploymentView> {
	const now = options.now ?? Date.now();
	let entry = entries.get(name);
	if (!entry) {
		entry = {
			fetchedAt: Number.NEGATIVE_INFINITY,
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
			const attempt = refresh(kv, name, current, now, ++current.started).finally(() => {
				if (current.inflight === attempt) current.inflight = undefined;
			});
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

/** Forgets a deployment so the next request reads KV (after a write from this isolate). */
export function invalidateDeployment(name: string): void {
	entries.delete(name);
}

/** Forgets everything (tests). */
export function clearConfigCache(): void {
	entries.clear();
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
): Promise<void> {
	let values: Map<string, string | null>;
	try {
		values = await kv.get([specKey(name), stateKey(name)], "text");
	} catch (error) {
		// Keep serving what is cached; the next request after the TTL tries again.
		console.error(
			JSON.stringify({
				level: "error",
				event: "config_read_failed",
				deployment: name,
				message: String(error),
			}),
		);
		if (entry.fetchedAt === Number.NEGATIVE_INFINITY) {
			entry.spec = {
				raw: "",
				issues: [{ path: "", message: `KV could not be read: ${String(error)}` }],
			};
		}
		return;
	}
	if (attempt < entry.applied) return;
	entry.applied = attempt;
	update(
		entry.spec,
		values.get(specKey(name)) ?? null,
		(text) => parseSpecFor(name, text),
		specKey(name),
	);
	update(
		entry.state,
		values.get(stateKey(name)) ?? null,
		(text) => parseJsonWith(RolloutState, text),
		stateKey(name),
	);
	entry.fetchedAt = now;
}

/** Parses a spec and checks that it names the key it is stored under. */
export function parseSpecFor(name: string, text: string): Parsed<DeploymentSpec> {
	const parsed = parseJsonWith(DeploymentSpec, text);
	if (parsed.ok && parsed.value.name !== name) {
		return {
			ok: false,
			issues: [{ path: "name", message: `must be "${name}", the name in the key` }],
		};
	}
	return parsed;
}

function update<T>(
	slot: Slot<T>,
	raw: string | null,
	parse: (text: string) => Parsed<T>,
	key: string,
): void {
	if (raw === slot.raw) return;
	slot.raw = raw;
	if (raw === null) {
		slot.good = undefined;
		slot.issues = undefined;
		return;
	}
	const parsed = parse(raw);
	if (parsed.ok) {
		slot.good = parsed.value;
		slot.issues = undefined;
		return;
	}
	slot.issues = parsed.issues;
	console.error(
		JSON.stringify({
			level: "error",
			event: "invalid_config",
			key,
			keptLastGood: slot.good !== undefined,
			issues: parsed.issues,
		}),
	);
}

function view(entry: Entry): DeploymentView {
	const { spec, state } = entry;
	if (spec.raw === null) return { kind: "missing" };
	if (!spec.good) return { kind: "unavailable", issues: spec.issues ?? [] };
	return {
		kind: "ok",
		spec: spec.good,
		state: state.good ?? PENDING,
		...(spec.issues ? { specIssues: spec.issues } : {}),
		...(state.issues ? { stateIssues: state.issues } : {}),
	};
}
