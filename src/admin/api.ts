/**
 * The admin API (`/admin/api`, bearer ADMIN_TOKEN): one sub-app per
 * resource, every input validated with zod at the door (validate.ts), every
 * per-deployment route behind the one 404 of `loadDeployment`, every error
 * in the one envelope with the one status of its code (src/errors.ts).
 * Every change is one call to the deployment's object, the rollout's one
 * authority: it validates, records, and writes KV itself.
 *
 * `AdminApi` is the type the CLI's client is built from (`hc<AdminApi>`),
 * so requests and responses are typed on both sides of the wire.
 */
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../types";
import { adminAuth } from "./auth";
import { actions } from "./routes/actions";
import { deployments } from "./routes/deployments";
import { history } from "./routes/history";
import { isolate } from "./routes/isolate";
import { metrics } from "./routes/metrics";
import { prometheus } from "./routes/prometheus";
import { jsonBodies } from "./validate";

export const adminApi = new Hono<AppEnv>()
	.use(secureHeaders())
	.use(adminAuth)
	.use(jsonBodies)
	.route("/deployments", deployments)
	.route("/deployments", actions)
	.route("/deployments", history)
	.route("/deployments", metrics)
	.route("/metrics", prometheus)
	.route("/isolate", isolate);

export type AdminApi = typeof adminApi;
