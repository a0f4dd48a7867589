/**
 * Per-deployment data for charts and export:
 * `/admin/api/deployments/:name/metrics` (per-minute rows per variant, JSON
 * or CSV) and `/admin/api/deployments/:name/shadow-samples` (NDJSON).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { StoredShadowSample } from "../../deployment/metrics-tables";
import { type DeploymentEnv, loadDeployment } from "../deployment";
import { metricsRows, toCsv } from "../export";
import { query } from "../validate";

const MAX_RANGE_MS = 31 * 24 * 60 * 60_000;

/** An ISO time or Unix milliseconds. */
const Time = z
	.string()
	.transform((value, ctx) => {
		const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
		if (!Number.isFinite(ms)) {
			ctx.addIssue({ code: "custom", message: "neither an ISO time nor Unix milliseconds" });
			return z.NEVER;
		}
		return ms;
	})
	.optional();

const MetricsQuery = z
	.object({ from: Time, to: Time, format: z.enum(["json", "csv"]).default("json") })
	.transform(({ from, to, format }) => {
		const end = to ?? Date.now();
		return { from: from ?? end - 60 * 60_000, to: end, format };
	})
	.refine((q) => q.from < q.to, { message: "from must be before to", path: ["from"] })
	.refine((q) => q.to - q.from <= MAX_RANGE_MS, {
		message: "at most 31 days per request",
		path: ["from"],
	});

/** A shadow sample as one NDJSON line: its time in ISO. */
function wireSample(sample: StoredShadowSample) {
	return { ...sample, time: new Date(sample.time).toISOString() };
}
/** One line of `/shadow-samples` (the dashboard reads these fields back). */
export type WireShadowSample = ReturnType<typeof wireSample>;

export const metrics = new Hono<DeploymentEnv>()
	.get("/:name/metrics", loadDeployment, query(MetricsQuery), async (c) => {
		const { name, object } = c.var.deployment;
		const { from, to, format } = c.req.valid("query");
		const rows = metricsRows(await object.series(from, to));
		if (format === "csv") {
			// c.text, not c.body: the typed client then knows `.json()` is the JSON branch's
			// (the content type given here replaces text/plain).
			return c.text(toCsv(rows), 200, {
				"content-type": "text/csv; charset=utf-8",
				"content-disposition": `attachment; filename="${name}-metrics.csv"`,
			});
		}
		return c.json({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows });
	})
	.get(
		"/:name/shadow-samples",
		loadDeployment,
		query(z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) })),
		async (c) => {
			const samples = await c.var.deployment.object.shadowSamples(c.req.valid("query").limit);
			const ndjson = samples.map((s) => JSON.stringify(wireSample(s))).join("\n");
			return c.body(ndjson.length > 0 ? `${ndjson}\n` : "", 200, {
				"content-type": "application/x-ndjson; charset=utf-8",
			});
		},
	);
