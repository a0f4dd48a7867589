/**
 * The scheduled handler: every minute, one call per deployment to its
 * deployment object, which reads its spec and state from KV, decides and
 * publishes by itself. Deployments are evaluated by a bounded pool of
 * concurrent calls; one that fails is reported and retried next minute, and
 * never stops the others. A look is one call with no fan-out (the ingest
 * shards push to the objects on their own), so one run takes one
 * subrequest per deployment, plus a few to KV: 1,000 deployments take
 * 4–6 s locally (`npm run bench`).
 */
import { listDeploymentNames, readIndex, writeIndex } from "../config/kv";
import { logError, logInfo } from "../lib/log";

/**
 * Calls to deployment objects in flight at once: enough to overlap the
 * network time of objects in other locations, few enough not to queue
 * hundreds of looks at once.
 */
const CONCURRENCY = 32;

export interface ControllerRun {
	deployments: number;
	/** Deployments whose new state was published. */
	changed: string[];
	failed: { name: string; error: string }[];
	skipped: { name: string; reason: string }[];
	results: Record<string, { kind: string; code: string; status: string; weight: number }>;
}

export type ControllerEnv = Pick<Env, "CONFIG" | "DEPLOYMENT">;

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T>(
	items: readonly T[],
	limit: number,
	task: (item: T) => Promise<void>,
): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const item = items[next++] as T;
			await task(item);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One look at one deployment, by its object. */
export async function evaluateDeployment(env: ControllerEnv, name: string, now: number) {
	return env.DEPLOYMENT.getByName(name).look(now);
}

export async function runController(
	env: ControllerEnv,
	now: number,
	names?: readonly string[],
): Promise<ControllerRun> {
	const list = names ?? (await listDeploymentNames(env.CONFIG));
	// The edge answers unknown names from this index; rewriting it from the spec keys every
	// minute picks up specs written by hand and repairs a lost update.
	if (!names) {
		await writeIndex(env.CONFIG, list, await readIndex(env.CONFIG)).catch((error: unknown) =>
			logError("index_write_failed", { message: String(error) }),
		);
	}
	const run: ControllerRun = {
		deployments: list.length,
		changed: [],
		failed: [],
		skipped: [],
		results: {},
	};
	await pool(list, CONCURRENCY, async (name) => {
		try {
			const result = await evaluateDeployment(env, name, now);
			if (!result.ok) {
				run.skipped.push({ name, reason: result.skipped });
				return;
			}
			if (result.publish && result.published) run.changed.push(name);
			if (result.publish && !result.published)
				run.failed.push({ name, error: "the new state could not be published to KV" });
			run.results[name] = {
				kind: result.decision.kind,
				code: result.decision.code,
				status: result.state.status,
				weight: result.state.weight,
			};
		} catch (error) {
			run.failed.push({ name, error: String(error) });
		}
	});
	logInfo("controller_run", { ...run, results: undefined });
	for (const { name, error } of run.failed)
		logError("controller_failed", { deployment: name, error });
	return run;
}
