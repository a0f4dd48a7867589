/**
 * `ANY /v1/models/:name/*`: the prediction route (thin: load config, hand over
 * to the proxy as plain values; nothing below it sees hono's Context). The
 * name and the rest of the path are cut from the RAW path: the rest is
 * forwarded byte for byte, and a name that needs decoding is no name
 * (deployment names are plain lowercase letters, digits and dashes).
 */
import { Hono } from "hono";
import { loadDeployment } from "../config/cache";
import { settingsOf } from "../config/settings";
import { DEPLOYMENT_NAME } from "../config/spec";
import { HttpError } from "../errors";
import { recorderFor } from "../metrics/recorder";
import { breakerFor } from "../routing/breaker";
import { proxyPrediction } from "../routing/proxy";
import { climbsOut, requestTarget } from "../routing/target";
import type { AppEnv } from "../types";

const PREFIX = "/v1/models/";

export const predictRoutes = new Hono<AppEnv>().all("/:name/*", async (c) => {
	const target = requestTarget(c.req.url);
	const end = target.path.indexOf("/", PREFIX.length);
	const name =
		target.path.startsWith(PREFIX) && end > 0 ? target.path.slice(PREFIX.length, end) : "";
	if (!DEPLOYMENT_NAME.test(name)) {
		throw new HttpError(404, "deployment_not_found", "no deployment by that name");
	}
	const restPath = target.path.slice(end);
	if (climbsOut(restPath)) {
		throw new HttpError(
			400,
			"invalid_path",
			"the path may not contain '.' or '..' segments or backslashes",
		);
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
		// The spec's issues are for operators (admin API, logs), not for clients.
		throw new HttpError(503, "deployment_unavailable", `deployment "${name}" is not available`);
	}
	return proxyPrediction({
		request: c.req.raw,
		env: c.env,
		ctx: c.executionCtx,
		spec: deployment.spec,
		state: deployment.state,
		target: { origin: target.origin, restPath, search: target.search, secure: target.secure },
		settings,
		recorder: recorderFor(c.env, c.executionCtx, deployment.spec.ingest.shards),
		breaker: breakerFor(name, deployment.generation, deployment.spec.canary.maxErrorRate),
	});
});
