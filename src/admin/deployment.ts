/**
 * The deployment a per-deployment admin route is about: `loadDeployment`
 * checks the `:name` in the path and that the deployment exists (its spec
 * in KV, or its object knows it, deleted ones included), answers 404
 * `deployment_not_found` otherwise, and hands the route its object.
 */
import { createMiddleware } from "hono/factory";
import { readDeployment } from "../config/kv";
import { settingsOf } from "../config/settings";
import { DeploymentName } from "../config/spec";
import { fail } from "../errors";
import type { AppEnv } from "../types";

export interface DeploymentHandle {
	name: string;
	/** The deployment's object (the rollout's one authority). */
	object: ReturnType<Env["DEPLOYMENT"]["getByName"]>;
}

export type DeploymentEnv = AppEnv & {
	Variables: AppEnv["Variables"] & { deployment: DeploymentHandle };
};

export function notFound(name: string) {
	return fail("deployment_not_found", `no deployment named "${name}"`);
}

export const loadDeployment = createMiddleware<DeploymentEnv>(async (c, next) => {
	const name = c.req.param("name") ?? "";
	if (!DeploymentName.safeParse(name).success) throw notFound(name);
	const object = c.env.DEPLOYMENT.getByName(name);
	const summary = await object.summary();
	const known = summary.spec !== null || summary.state !== null || summary.deleted;
	if (!known && (await readDeployment(c.env.CONFIG, name)).spec.kind === "missing")
		throw notFound(name);
	c.set("deployment", { name, object });
	await next();
});

/** When a change reaches the edge: each isolate re-reads KV within its cache TTL. */
export function effective(env: Env, now: number) {
	const ttl = settingsOf(env).CONFIG_TTL_SECONDS;
	return {
		withinSeconds: ttl,
		at: new Date(now + ttl * 1000).toISOString(),
		note: "every isolate re-reads KV within its config cache TTL; KV itself can take up to 60 s to reach other locations",
	};
}
