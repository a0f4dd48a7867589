/**
 * The one module that reads and writes a deployment's keys in Workers KV:
 * `deployment:<name>` (the spec) and `state:<name>` (the published rollout
 * state). The edge cache, the deployment object and the admin API all go
 * through it, so a value is parsed the same way everywhere. Reading never
 * throws on a bad value: it comes back `invalid` with its issues.
 */
import { INDEX_KEY, SPEC_PREFIX, specKey, stateKey } from "./keys";
import type { ConfigIssue, Parsed } from "./parse";
import { parseJsonWith } from "./parse";
import { DEPLOYMENT_NAME, DeploymentSpec } from "./spec";
import { KvRolloutState, type RolloutState } from "./state";

/** A KV value: absent, present but invalid (with why), or parsed. */
export type KvValue<T> =
	| { kind: "missing" }
	| { kind: "invalid"; raw: string; issues: ConfigIssue[] }
	| { kind: "ok"; raw: string; value: T };

export interface RawDeployment {
	spec: string | null;
	state: string | null;
}

export interface KvDeployment {
	spec: KvValue<DeploymentSpec>;
	state: KvValue<KvRolloutState>;
}

/** Both keys of a deployment in one KV request, as text. */
export async function readRaw(kv: KVNamespace, name: string): Promise<RawDeployment> {
	const values = await kv.get([specKey(name), stateKey(name)], "text");
	return { spec: values.get(specKey(name)) ?? null, state: values.get(stateKey(name)) ?? null };
}

/** Both keys of a deployment, parsed. */
export async function readDeployment(kv: KVNamespace, name: string): Promise<KvDeployment> {
	return parseDeployment(name, await readRaw(kv, name));
}

export function parseDeployment(name: string, raw: RawDeployment): KvDeployment {
	return {
		spec: kvValue(raw.spec, (text) => parseSpecFor(name, text)),
		state: kvValue(raw.state, parseState),
	};
}

function kvValue<T>(raw: string | null, parse: (text: string) => Parsed<T>): KvValue<T> {
	if (raw === null) return { kind: "missing" };
	const parsed = parse(raw);
	return parsed.ok
		? { kind: "ok", raw, value: parsed.value }
		: { kind: "invalid", raw, issues: parsed.issues };
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

export function parseState(text: string): Parsed<KvRolloutState> {
	return parseJsonWith(KvRolloutState, text);
}

/** Writes a spec (with its defaults spelled out); returns the text written. */
export async function writeSpec(
	kv: KVNamespace,
	name: string,
	spec: DeploymentSpec,
): Promise<string> {
	const text = JSON.stringify(spec);
	await kv.put(specKey(name), text);
	return text;
}

/** Publishes a rollout state. Only the deployment object calls this. */
export async function publishState(
	kv: KVNamespace,
	name: string,
	state: RolloutState,
): Promise<void> {
	await kv.put(stateKey(name), JSON.stringify(state));
}

/** Removes both keys: the spec first, so the edge stops serving the name before its state goes. */
export async function deleteKeys(kv: KVNamespace, name: string): Promise<void> {
	await kv.delete(specKey(name));
	await kv.delete(stateKey(name));
}

/** Every deployment with a spec in KV (paginated `list` by the key prefix). */
export async function listDeploymentNames(kv: KVNamespace): Promise<string[]> {
	const names: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await kv.list({ prefix: SPEC_PREFIX, cursor });
		for (const key of page.keys) names.push(key.name.slice(SPEC_PREFIX.length));
		cursor = page.list_complete ? undefined : page.cursor;
	} while (cursor);
	return names;
}

/**
 * The index of deployment names (`index:deployments`: a JSON array), or null
 * when there is none yet (or it is unreadable as such): the edge then looks
 * names up one by one.
 */
export async function readIndex(kv: KVNamespace): Promise<string[] | null> {
	const raw = await kv.get(INDEX_KEY, "text");
	if (raw === null) return null;
	try {
		const names: unknown = JSON.parse(raw);
		if (!Array.isArray(names)) return null;
		return names.filter((n): n is string => typeof n === "string" && DEPLOYMENT_NAME.test(n));
	} catch {
		return null;
	}
}

/** Writes the index when it differs from `current` (sorted, unique). Returns whether it wrote. */
export async function writeIndex(
	kv: KVNamespace,
	names: readonly string[],
	current: readonly string[] | null,
): Promise<boolean> {
	const next = [...new Set(names)].sort();
	if (current !== null && next.join("\n") === [...new Set(current)].sort().join("\n")) return false;
	await kv.put(INDEX_KEY, JSON.stringify(next));
	return true;
}

/**
 * Adds or removes one name (admin API). Two admin calls at once may race; the
 * cron rewrites the index from the spec keys every minute, which repairs it.
 */
export async function updateIndex(kv: KVNamespace, name: string, present: boolean): Promise<void> {
	const stored = await readIndex(kv);
	const base = stored ?? (await listDeploymentNames(kv));
	await writeIndex(kv, present ? [...base, name] : base.filter((n) => n !== name), stored);
}
