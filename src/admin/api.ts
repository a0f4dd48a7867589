/**
 * The admin API (`/admin/api`, bearer ADMIN_TOKEN): manage deployments, act
 * on rollouts, read the analysis, the audit log, metrics and shadow samples.
 * Every change is one call to the deployment's object, the rollout's one
 * authority: it validates, records, and writes KV itself.
 */
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { z } from "zod";
import { invalidateDeployment } from "../config/cache";
import { listDeploymentNames, readDeployment, updateIndex } from "../config/kv";
import { type ConfigIssue, parseWith } from "../config/parse";
import { settingsOf } from "../config/settings";
import { DeploymentName, DeploymentSpec, Weight } from "../config/spec";
import type { ActErrorCode } from "../deployment/engine";
import { HttpError } from "../errors";
import type { AdminAction } from "../rollout/transitions";
import type { AppEnv } from "../types";
import { adminAuth } from "./auth";
import { metricsRows, toCsv } from "./export";

const ActionBody = z.strictObject({
	/** Why, for the audit log. */
	reason: z.string().max(500).optional(),
	/** Optimistic concurrency: refuse when the rollout's revision differs. */
	revision: z.number().int().min(0).optional(),
});
const WeightBody = ActionBody.extend({ weight: Weight });
const STATE_ACTIONS = ["start", "pause", "resume", "promote", "abort", "finalize"] as const;

async function jsonBody(request: Request): Promise<unknown> {
	const text = await request.text();
	if (text.trim() === "") return {};
	try {
		return JSON.parse(text);
	} catch {
		throw new HttpError(400, "invalid_json", "the body is not valid JSON");
	}
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
	const parsed = parseWith(schema, body);
	if (!parsed.ok)
		throw new HttpError(
			400,
			"invalid_request",
			"the body does not match the schema",
			parsed.issues,
		);
	return parsed.value;
}

function nameOf(raw: string): string {
	if (!DeploymentName.safeParse(raw).success)
		throw new HttpError(404, "deployment_not_found", `no deployment named "${raw}"`);
	return raw;
}

/** When a change reaches the edge: each isolate re-reads KV within its cache TTL. */
function effective(env: Env, now: number) {
	const ttl = settingsOf(env).CONFIG_TTL_SECONDS;
	return {
		withinSeconds: ttl,
		at: new Date(now + ttl * 1000).toISOString(),
		note: "every isolate re-reads KV within its config cache TTL; KV itself can take up to 60 s to reach other locations",
	};
}

function timeParam(value: string | undefined, fallback: number): number {
	if (value === undefined || value === "") return fallback;
	const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
	if (!Number.isFinite(ms))
		throw new HttpError(
			400,
			"invalid_time",
			`"${value}" is neither an ISO time nor Unix milliseconds`,
		);
	return ms;
}

function intParam(value: string | undefined, fallback: number, min: number, max: number): number {
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!Number.isInteger(n) || n < min || n > max)
		throw new HttpError(
			400,
			"invalid_parameter",
			`expected an integer in [${min}, ${max}], got "${value}"`,
		);
	return n;
}

const ACT_ERRORS: Record<ActErrorCode, 404 | 409> = {
	deployment_not_found: 404,
	invalid_transition: 409,
	revision_conflict: 409,
	spec_required: 409,
};

async function applyAction(
	env: Env,
	name: string,
	action: AdminAction,
	body: z.output<typeof ActionBody>,
) {
	const now = Date.now();
	const result = await env.DEPLOYMENT.getByName(name).act({
		action,
		actor: "admin",
		reason: body.reason,
		now,
		expectedRevision: body.revision,
	});
	if (!result.ok) {
		const message =
			result.code === "deployment_not_found" ? `no deployment named "${name}"` : result.message;
		throw new HttpError(ACT_ERRORS[result.code], result.code, message, { state: result.state });
	}
	invalidateDeployment(name);
	return { state: result.state, published: result.published, effective: effective(env, now) };
}

/** 404 unless KV holds the spec or the deployment's object knows the rollout (deleted ones included). */
async function requireKnown(env: Env, name: string): Promise<void> {
	const summary = await env.DEPLOYMENT.getByName(name).summary();
	if (summary.spec !== null || summary.state !== null || summary.deleted) return;
	const kv = await readDeployment(env.CONFIG, name);
	if (kv.spec.kind === "missing")
		throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
}

export const adminApi = new Hono<AppEnv>()
	.use(secureHeaders())
	.use(adminAuth)
	.get("/deployments", async (c) => {
		const names = await listDeploymentNames(c.env.CONFIG);
		const deployments = await Promise.all(
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
					lastDecision: last ? { time: last.time, kind: last.kind, reason: last.reason } : null,
					...(kv.spec.kind === "invalid" ? { specIssues: kv.spec.issues } : {}),
				};
			}),
		);
		return c.json({ deployments });
	})
	.put("/deployments/:name", async (c) => {
		const name = nameOf(c.req.param("name"));
		const parsed = parseWith(DeploymentSpec, await jsonBody(c.req.raw));
		if (!parsed.ok)
			throw new HttpError(400, "invalid_spec", "the spec does not match the schema", parsed.issues);
		const spec = parsed.value;
		if (spec.name !== name) {
			throw new HttpError(
				400,
				"name_mismatch",
				`the body names "${spec.name}" but the path names "${name}"`,
				[{ path: "name", message: `must be "${name}"` } satisfies ConfigIssue],
			);
		}
		const now = Date.now();
		const result = await c.env.DEPLOYMENT.getByName(name).putSpec({
			spec,
			rebucket: c.req.query("rebucket") === "true",
			now,
		});
		if (!result.ok) throw new HttpError(409, result.code, result.message, result.details);
		await updateIndex(c.env.CONFIG, name, true);
		invalidateDeployment(name);
		return c.json(
			{ spec, created: result.created, effective: effective(c.env, now) },
			result.created ? 201 : 200,
		);
	})
	.get("/deployments/:name", async (c) => {
		const name = nameOf(c.req.param("name"));
		const report = await c.env.DEPLOYMENT.getByName(name).report(Date.now());
		if (report.deleted || (report.spec === null && report.state === null && !report.specIssues))
			throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		return c.json({
			spec: report.spec,
			state: report.state,
			analysis: report.analysis,
			...(report.specIssues ? { specIssues: report.specIssues } : {}),
			...(report.stateIssues ? { stateIssues: report.stateIssues } : {}),
		});
	})
	.delete("/deployments/:name", async (c) => {
		const name = nameOf(c.req.param("name"));
		const now = Date.now();
		const { deleted } = await c.env.DEPLOYMENT.getByName(name).remove(now);
		if (!deleted) throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		await updateIndex(c.env.CONFIG, name, false);
		invalidateDeployment(name);
		return c.json({ deleted: name, effective: effective(c.env, now) });
	})
	.post("/deployments/:name/:action", async (c) => {
		const name = nameOf(c.req.param("name"));
		const action = c.req.param("action");
		if (!(STATE_ACTIONS as readonly string[]).includes(action)) {
			throw new HttpError(
				404,
				"not_found",
				`unknown action "${action}"; one of ${STATE_ACTIONS.join(", ")}`,
			);
		}
		const body = parseBody(ActionBody, await jsonBody(c.req.raw));
		return c.json(
			await applyAction(c.env, name, { type: action as (typeof STATE_ACTIONS)[number] }, body),
		);
	})
	.put("/deployments/:name/weight", async (c) => {
		const name = nameOf(c.req.param("name"));
		const body = parseBody(WeightBody, await jsonBody(c.req.raw));
		return c.json(await applyAction(c.env, name, { type: "weight", weight: body.weight }, body));
	})
	.get("/deployments/:name/history", async (c) => {
		const name = nameOf(c.req.param("name"));
		const limit = intParam(c.req.query("limit"), 50, 1, 500);
		const before =
			c.req.query("before") === undefined
				? undefined
				: intParam(c.req.query("before"), 0, 1, Number.MAX_SAFE_INTEGER);
		await requireKnown(c.env, name);
		const entries = await c.env.DEPLOYMENT.getByName(name).history(limit, before);
		const last = entries[entries.length - 1];
		return c.json({
			entries: entries.map(({ detailsJson, ...entry }) => ({
				...entry,
				...(detailsJson ? { details: JSON.parse(detailsJson) } : {}),
			})),
			next: entries.length === limit && last ? String(last.id) : null,
		});
	})
	.get("/deployments/:name/metrics", async (c) => {
		const name = nameOf(c.req.param("name"));
		const now = Date.now();
		const to = timeParam(c.req.query("to"), now);
		const from = timeParam(c.req.query("from"), to - 60 * 60_000);
		if (from >= to) throw new HttpError(400, "invalid_time", "from must be before to");
		if (to - from > 31 * 24 * 60 * 60_000)
			throw new HttpError(400, "invalid_time", "at most 31 days per request");
		await requireKnown(c.env, name);
		const rows = metricsRows(await c.env.DEPLOYMENT.getByName(name).series(from, to));
		const format = c.req.query("format") ?? "json";
		if (format === "csv") {
			return c.body(toCsv(rows), 200, {
				"content-type": "text/csv; charset=utf-8",
				"content-disposition": `attachment; filename="${name}-metrics.csv"`,
			});
		}
		if (format !== "json")
			throw new HttpError(400, "invalid_parameter", `format must be json or csv, got "${format}"`);
		return c.json({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows });
	})
	.get("/deployments/:name/shadow-samples", async (c) => {
		const name = nameOf(c.req.param("name"));
		const limit = intParam(c.req.query("limit"), 100, 1, 10_000);
		await requireKnown(c.env, name);
		const samples = await c.env.DEPLOYMENT.getByName(name).shadowSamples(limit);
		const ndjson = samples
			.map((s) => JSON.stringify({ ...s, time: new Date(s.time).toISOString() }))
			.join("\n");
		return c.body(ndjson.length > 0 ? `${ndjson}\n` : "", 200, {
			"content-type": "application/x-ndjson; charset=utf-8",
		});
	});
