/** `/admin/api/deployments/:name/history`: the audit log, newest first, with webhook delivery states. */
import { Hono } from "hono";
import { z } from "zod";
import type { Json } from "../../lib/json";
import { type DeploymentEnv, loadDeployment } from "../deployment";
import { query } from "../validate";

const HistoryQuery = z.object({
	limit: z.coerce.number().int().min(1).max(500).default(50),
	/** An entry id: page further back from it (the `next` cursor). */
	before: z.coerce.number().int().min(1).optional(),
});

export const history = new Hono<DeploymentEnv>().get(
	"/:name/history",
	loadDeployment,
	query(HistoryQuery),
	async (c) => {
		const { limit, before } = c.req.valid("query");
		const entries = await c.var.deployment.object.history(limit, before);
		const last = entries[entries.length - 1];
		return c.json({
			entries: entries.map(({ detailsJson, ...entry }) => ({
				...entry,
				...(detailsJson ? { details: JSON.parse(detailsJson) as Json } : {}),
			})),
			next: entries.length === limit && last ? String(last.id) : null,
		});
	},
);
