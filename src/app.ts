/** The Hono app: composes the routes and the one error envelope. */
import { Hono } from "hono";
import { adminApi } from "./admin/api";
import { dashboard } from "./admin/dashboard";
import { errorResponse, onError } from "./errors";
import { recorderStats } from "./metrics/recorder";
import { feedbackRoutes } from "./routes/feedback";
import { predictRoutes } from "./routes/predict";
import { breakerStats } from "./routing/breaker";
import type { AppEnv } from "./types";

export const app = new Hono<AppEnv>()
	.get("/healthz", (c) =>
		c.json({ ok: true, isolate: { metrics: recorderStats, breaker: breakerStats } }),
	)
	.route("/v1/models", predictRoutes)
	.route("/v1/feedback", feedbackRoutes)
	.route("/admin/api", adminApi)
	.route("/admin", dashboard)
	.notFound((c) =>
		errorResponse(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
	)
	.onError(onError);
