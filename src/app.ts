/** The Hono app: composes the routes and the one error envelope. */
import { Hono } from "hono";
import { adminApi } from "./admin/api";
import { dashboard } from "./admin/dashboard";
import { ERROR_STATUS, errorResponse, onError } from "./errors";
import { feedbackRoutes } from "./routes/feedback";
import { predictRoutes } from "./routes/predict";
import type { AppEnv } from "./types";

export const app = new Hono<AppEnv>()
	// Liveness only: the isolate's counters are behind admin auth (GET /admin/api/isolate).
	.get("/healthz", (c) => c.json({ ok: true }))
	.route("/v1/models", predictRoutes)
	.route("/v1/feedback", feedbackRoutes)
	.route("/admin/api", adminApi)
	.route("/admin", dashboard)
	.notFound((c) =>
		errorResponse(
			ERROR_STATUS.not_found,
			"not_found",
			`no route for ${c.req.method} ${new URL(c.req.url).pathname}`,
		),
	)
	.onError(onError);
