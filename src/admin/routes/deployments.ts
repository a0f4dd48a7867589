/** `/admin/api/deployments`: list, create or replace, read, delete. */
import { Hono } from "hono";
import { z } from "zod";
import { invalidateDeployment } from "../../config/cache";
import { listDeploymentNames, readDeployment, updateIndex } from "../../config/kv";
import { DeploymentName, DeploymentSpec } from "../../config/spec";
import { fail } from "../../errors";
import type { AppEnv } from "../../types";
import { effective, loadDeployment, notFound } from "../deployment";
import { body, params, query } from "../validate";

const NameParam = z.object({ name: DeploymentName });

export const deployments = new Hono<AppEnv>()
	.get("/", async (c) => {
		const names = await listDeploymentNames(c.env.CONFIG);
		const list = await Promise.all(
			names.map(async (name) => {
				const [summary, kv] = await Promise.all([
					c.env.DEPLOYMENT.getByName(name).summary(),
					readDeployment(c.env.CONFIG, name),
				]);
				// Before the object's first look, the state in force is the one the edge reads from KV.
				const state = summary.state ?? (kv.state.kind === "ok" ? kv.state.value : null);
				const last = summary.lastDecision;
				const spec = kv.spec.kind === "ok" ? kv.spec.value : summary.spec;
				return {
					name,
					strategy: spec?.strategy ?? null,
					status: state?.status ?? "pending",
					weight: state?.weight ?? 0,
					step: state?.step ?? 0,
					since: state?.since ?? null,
					reason: state?.reason ?? "",
					updatedBy: state?.updatedBy ?? null,
					revision: state?.revision ?? 0,
					...(state?.approved === undefined ? {} : { approved: state.approved }),
					lastDecision: last ? { time: last.time, kind: last.kind, reason: last.reason } : null,
					...(kv.spec.kind === "invalid" ? { specIssues: kv.spec.issues } : {}),
				};
			}),
		);
		return c.json({ deployments: list });
	})
	.put(
		"/:name",
		params(NameParam, "deployment_not_found", (raw) => `no deployment named "${raw.name}"`),
		query(
			z.object({
				rebucket: z.enum(["true", "false"]).optional(),
				force: z.enum(["true", "false"]).optional(),
			}),
		),
		body(DeploymentSpec, "invalid_spec"),
		async (c) => {
			const { name } = c.req.valid("param");
			const spec = c.req.valid("json");
			if (spec.name !== name) {
				throw fail("name_mismatch", `the body names "${spec.name}" but the path names "${name}"`, [
					{ path: "name", message: `must be "${name}"` },
				]);
			}
			const now = Date.now();
			const result = await c.env.DEPLOYMENT.getByName(name).putSpec({
				spec,
				rebucket: c.req.valid("query").rebucket === "true",
				force: c.req.valid("query").force === "true",
				now,
			});
			if (!result.ok) throw fail(result.code, result.message, result.details);
			await updateIndex(c.env.CONFIG, name, true);
			invalidateDeployment(name);
			return c.json(
				{ spec, created: result.created, effective: effective(c.env, now) },
				result.created ? 201 : 200,
			);
		},
	)
	.get("/:name", loadDeployment, async (c) => {
		const { name, object } = c.var.deployment;
		const report = await object.report(Date.now());
		if (report.deleted || (report.spec === null && report.state === null && !report.specIssues))
			throw notFound(name);
		return c.json({
			spec: report.spec,
			state: report.state,
			analysis: report.analysis,
			...(report.specIssues ? { specIssues: report.specIssues } : {}),
			...(report.stateIssues ? { stateIssues: report.stateIssues } : {}),
		});
	})
	.delete("/:name", loadDeployment, async (c) => {
		const { name, object } = c.var.deployment;
		const now = Date.now();
		const { deleted } = await object.remove(now);
		if (!deleted) throw notFound(name);
		await updateIndex(c.env.CONFIG, name, false);
		invalidateDeployment(name);
		return c.json({ deleted: name, effective: effective(c.env, now) });
	});
