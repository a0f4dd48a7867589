/** `ANY /v1/models/:name/*`: the prediction route (thin: load config, hand over to the proxy). */
import { Hono } from "hono";
import { loadDeployment } from "../config/cache";
import { settingsOf } from "../config/settings";
import { DEPLOYMENT_NAME } from "../config/spec";
import { HttpError } from "../errors";
import { recorderFor } from "../metrics/recorder";
import { breakerFor } from "../routing/breaker";
import { requestTarget } from "../routing/forward";
import { proxyPrediction } from "../routing/proxy";
import type { AppEnv } from "../types";

const PREFIX = "/v1/models/";

export const predictRoutes = new Hono<AppEnv>().all("/:name/*", async (c) => {
	const name = c.req.param("name");
	if (!DEPLOYMENT_NAME.test(name)) {
		throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
	}
	const settings = settingsOf(c.env);
	const deployment = await loadDeployment(c.env.CONFIG, name, {
		ttlMs: settings.CONFIG_TTL_SECONDS * 1000,
		rescue: (missing) => c.env.DEPLOYMENT.getByName(missing).rescue(),
	});
	if (deployment.kind === "missing") {
		throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
	}
	if (deployment.kind === "unavailable") {
		throw new HttpError(
			503,
			"deployment_unavailable",
			`the spec of "${name}" in KV is invalid and no earlier valid spec is known`,
			deployment.issues,
		);
	}
	const target = requestTarget(c.req.url);
	return proxyPrediction(c, {
		spec: deployment.spec,
		state: deployment.state,
		target,
		restPath: target.path.slice(PREFIX.length + name.length),
		settings,
		recorder: recorderFor(c.env, c.executionCtx),
		breaker: breakerFor(name, deployment.generation, deployment.spec.canary.maxErrorRate),
	});
});
