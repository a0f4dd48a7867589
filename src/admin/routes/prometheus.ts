/**
 * `/admin/api/metrics/prometheus`: every deployment's traffic, latency,
 * state and weight in the Prometheus text format (bearer auth, like the
 * rest of the admin API: Prometheus sends it with `authorization`).
 */
import { Hono } from "hono";
import { listDeploymentNames, readDeployment } from "../../config/kv";
import { pool } from "../../deployment/cron";
import { mergeRows } from "../../metrics/aggregate";
import { MINUTE_MS } from "../../metrics/minutes";
import type { AppEnv } from "../../types";
import { type DeploymentMetrics, prometheusText } from "../prometheus";

/** The traffic gauges cover this many complete minutes before the current one. */
const WINDOW_MINUTES = 5;

export const prometheus = new Hono<AppEnv>().get("/prometheus", async (c) => {
	const names = await listDeploymentNames(c.env.CONFIG);
	const to = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
	const from = to - WINDOW_MINUTES * MINUTE_MS;
	const found: DeploymentMetrics[] = [];
	await pool(names, 10, async (name) => {
		const object = c.env.DEPLOYMENT.getByName(name);
		const [summary, rows] = await Promise.all([object.summary(), object.aggregates(from, to)]);
		if (summary.deleted) return;
		// Before the object's first look, the state in force is the one the edge reads from KV.
		let state = summary.state;
		if (state === null) {
			const kv = await readDeployment(c.env.CONFIG, name);
			state =
				kv.state.kind === "ok"
					? { ...kv.state.value, revision: kv.state.value.revision ?? 0 }
					: null;
		}
		const variants: DeploymentMetrics["variants"] = {};
		for (const variant of ["champion", "candidate", "shadow"] as const) {
			if (rows.some((r) => r.variant === variant)) variants[variant] = mergeRows(rows, variant);
		}
		found.push({ name, strategy: summary.spec?.strategy ?? null, state, variants });
	});
	found.sort((a, b) => a.name.localeCompare(b.name));
	return c.body(prometheusText(found, WINDOW_MINUTES * 60), 200, {
		"content-type": "text/plain; version=0.0.4; charset=utf-8",
	});
});
