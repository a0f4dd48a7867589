/**
 * What the admin API reads from and writes to KV: specs with their
 * validation issues (never hidden), states as the controller sees them.
 */
import { specKey, stateKey } from "../config/keys";
import type { ConfigIssue } from "../config/parse";
import type { DeploymentSpec } from "../config/spec";
import { parseSpecFor } from "../config/store";
import { HttpError } from "../errors";
import { kvStateOf } from "../rollout/cron";
import type { KvState } from "../rollout/reconcile";

export interface StoredDeployment {
	name: string;
	spec: DeploymentSpec | null;
	/** Problems with the spec in KV (the edge keeps its last good spec meanwhile). */
	specIssues?: ConfigIssue[];
	kv: KvState;
}

export async function readDeployment(
	kv: KVNamespace,
	name: string,
): Promise<StoredDeployment | null> {
	const values = await kv.get([specKey(name), stateKey(name)], "text");
	const raw = values.get(specKey(name)) ?? null;
	if (raw === null) return null;
	const parsed = parseSpecFor(name, raw);
	return {
		name,
		spec: parsed.ok ? parsed.value : null,
		...(parsed.ok ? {} : { specIssues: parsed.issues }),
		kv: kvStateOf(values.get(stateKey(name)) ?? null),
	};
}

/** The deployment, or a 404; with `validSpec`, a 422 when its spec in KV is invalid. */
export async function requireDeployment(
	kv: KVNamespace,
	name: string,
): Promise<StoredDeployment & { spec: DeploymentSpec }> {
	const deployment = await readDeployment(kv, name);
	if (!deployment)
		throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
	if (!deployment.spec) {
		throw new HttpError(
			422,
			"invalid_spec",
			`the spec of "${name}" in KV is invalid; PUT a valid one first`,
			deployment.specIssues,
		);
	}
	return { ...deployment, spec: deployment.spec };
}
