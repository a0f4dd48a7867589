/**
 * The one module that reads and writes a deployment's keys in Workers KV:
 * `deployment:<name>` (the spec) and `state:<name>` (the published rollout
 * state). The edge cache, the deployment object and the admin API all go
 * through it, so a value is parsed the same way everywhere. Reading never
 * throws on a bad value: it comes back `invalid` with its issues.
 */
import { SPEC_PREFIX, specKey, stateKey } from "./keys";
import type { ConfigIssue, Parsed } from "./parse";
import { parseJsonWith } from "./parse";
import { DeploymentSpec } from "./spec";
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
