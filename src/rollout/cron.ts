/**
 * The scheduled handler: every minute, for every deployment in KV, one
 * controller look in its MetricsStore, then the new state published to KV
 * (only when it changed: KV takes one write per second per key).
 */
import { specKey, stateKey } from "../config/keys";
import { listDeploymentNames } from "../config/list";
import { parseJsonWith } from "../config/parse";
import type { DeploymentSpec } from "../config/spec";
import { RolloutState } from "../config/state";
import { parseSpecFor } from "../config/store";
import type { TickResult } from "./engine";
import type { KvState } from "./reconcile";

const CONCURRENCY = 10;

export interface ControllerRun {
	deployments: number;
	changed: string[];
	failed: { name: string; error: string }[];
	results: Record<string, TickResult["decision"] & { status: string; weight: number }>;
}

/** The rollout state as KV holds it right now. */
export function kvStateOf(raw: string | null): KvState {
	if (raw === null) return { kind: "missing" };
	const parsed = parseJsonWith(RolloutState, raw);
	return parsed.ok
		? { kind: "ok", state: parsed.value }
		: { kind: "invalid", issues: parsed.issues };
}

/** Writes a state to KV and tells the Durable Object it is published. */
export async function publishState(env: Env, name: string, state: RolloutState): Promise<void> {
	await env.CONFIG.put(stateKey(name), JSON.stringify(state));
	await env.METRICS.getByName(name).confirmPublished(state.revision);
}

/** One look at one deployment. */
export async function evaluateDeployment(
	env: Env,
	name: string,
	now: number,
): Promise<TickResult | { skipped: string }> {
	const values = await env.CONFIG.get([specKey(name), stateKey(name)], "text");
	const raw = values.get(specKey(name)) ?? null;
	if (raw === null) return { skipped: "the spec was deleted" };
	const parsed = parseSpecFor(name, raw);
	if (!parsed.ok)
		return {
			skipped: `invalid spec: ${parsed.issues.map((i) => `${i.path} ${i.message}`).join("; ")}`,
		};
	const spec: DeploymentSpec = parsed.value;
	const result = await env.METRICS.getByName(name).tick({
		spec,
		kv: kvStateOf(values.get(stateKey(name)) ?? null),
		now,
	});
	if (result.publish) await publishState(env, name, result.state);
	return result;
}

export async function runController(env: Env, now: number): Promise<ControllerRun> {
	const names = await listDeploymentNames(env.CONFIG);
	const run: ControllerRun = { deployments: names.length, changed: [], failed: [], results: {} };
	for (let i = 0; i < names.length; i += CONCURRENCY) {
		await Promise.all(
			names.slice(i, i + CONCURRENCY).map(async (name) => {
				try {
					const result = await evaluateDeployment(env, name, now);
					if ("skipped" in result) {
						run.failed.push({ name, error: result.skipped });
						return;
					}
					if (result.publish) run.changed.push(name);
					run.results[name] = {
						...result.decision,
						status: result.state.status,
						weight: result.state.weight,
					};
				} catch (error) {
					run.failed.push({ name, error: String(error) });
				}
			}),
		);
	}
	console.log(
		JSON.stringify({ level: "info", event: "controller_run", ...run, results: undefined }),
	);
	for (const { name, error } of run.failed) {
		console.error(
			JSON.stringify({ level: "error", event: "controller_skipped", deployment: name, error }),
		);
	}
	return run;
}
