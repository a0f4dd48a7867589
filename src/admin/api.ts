/**
 * The admin API (`/admin/api`, bearer ADMIN_TOKEN): manage deployments, act
 * on rollouts, read the analysis, the audit log, metrics and shadow samples.
 * Actions go through the deployment's MetricsStore like controller
 * transitions (same revision check, same audit log), then to KV.
 */
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { z } from "zod";
import { specKey, stateKey } from "../config/keys";
import { listDeploymentNames } from "../config/list";
import { type ConfigIssue, parseWith } from "../config/parse";
import { settingsOf } from "../config/settings";
import { DeploymentName, DeploymentSpec, saltOf, Weight } from "../config/spec";
import { invalidateDeployment } from "../config/store";
import { HttpError } from "../errors";
import { publishState } from "../rollout/cron";
import type { AdminAction } from "../rollout/transitions";
import type { AppEnv } from "../types";
import { adminAuth } from "./auth";
import { metricsRows, toCsv } from "./export";
import { readDeployment, requireDeployment } from "./kv";

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

async function applyAction(
	env: Env,
	name: string,
	action: AdminAction,
	body: z.output<typeof ActionBody>,
) {
	const deployment = await requireDeployment(env.CONFIG, name);
	const now = Date.now();
	const stub = env.METRICS.getByName(name);
	const result = await stub.act({
		spec: deployment.spec,
		kv: deployment.kv,
		action,
		actor: "admin",
		reason: body.reason,
		now,
		expectedRevision: body.revision,
	});
	if (!result.ok)
		throw new HttpError(409, "invalid_transition", result.error, { state: result.state });
	if (result.publish) await publishState(env, name, result.state);
	if (action.type === "finalize") {
		const spec = { ...deployment.spec, champion: deployment.spec.candidate };
		await env.CONFIG.put(specKey(name), JSON.stringify(spec));
	}
	invalidateDeployment(name);
	return { state: result.state, effective: effective(env, now) };
}

export const adminApi = new Hono<AppEnv>()
	.use(secureHeaders())
	.use(adminAuth)
	.get("/deployments", async (c) => {
		const names = await listDeploymentNames(c.env.CONFIG);
		const deployments = await Promise.all(
			names.map(async (name) => {
				const deployment = await readDeployment(c.env.CONFIG, name);
				const state = deployment?.kv.kind === "ok" ? deployment.kv.state : null;
				const [last] = await c.env.METRICS.getByName(name).history(1);
				return {
					name,
					strategy: deployment?.spec?.strategy ?? null,
					status: state?.status ?? "pending",
					weight: state?.weight ?? 0,
					step: state?.step ?? 0,
					since: state?.since ?? null,
					reason: state?.reason ?? "",
					updatedBy: state?.updatedBy ?? null,
					lastDecision: last ? { time: last.time, kind: last.kind, reason: last.reason } : null,
					...(deployment?.specIssues ? { specIssues: deployment.specIssues } : {}),
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
		const existing = await readDeployment(c.env.CONFIG, name);
		const live =
			existing?.kv.kind === "ok" && !["pending", "aborted"].includes(existing.kv.state.status);
		const rebucket =
			existing?.spec &&
			(saltOf(existing.spec) !== saltOf(spec) ||
				existing.spec.assignment.hashVersion !== spec.assignment.hashVersion);
		if (rebucket && live && c.req.query("rebucket") !== "true") {
			throw new HttpError(
				409,
				"rebucket_refused",
				"changing the salt or hash version of a live deployment reassigns its users; repeat with ?rebucket=true to do it anyway",
				{
					from: {
						salt: saltOf(existing.spec as DeploymentSpec),
						hashVersion: existing.spec?.assignment.hashVersion,
					},
					to: { salt: saltOf(spec), hashVersion: spec.assignment.hashVersion },
				},
			);
		}
		const now = Date.now();
		await c.env.CONFIG.put(specKey(name), JSON.stringify(spec));
		invalidateDeployment(name);
		const kind = existing ? "admin:replace" : "admin:create";
		await c.env.METRICS.getByName(name).note({
			kind,
			actor: "admin",
			reason: rebucket
				? "spec replaced with a new salt or hash version: users were reassigned"
				: existing
					? "spec replaced"
					: "spec created",
			now,
		});
		return c.json(
			{ spec, created: !existing, effective: effective(c.env, now) },
			existing ? 200 : 201,
		);
	})
	.get("/deployments/:name", async (c) => {
		const name = nameOf(c.req.param("name"));
		const deployment = await readDeployment(c.env.CONFIG, name);
		if (!deployment)
			throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		if (!deployment.spec) {
			return c.json({
				spec: null,
				specIssues: deployment.specIssues,
				state: deployment.kv.kind === "ok" ? deployment.kv.state : null,
				analysis: null,
			});
		}
		const { state, report } = await c.env.METRICS.getByName(name).report(
			deployment.spec,
			deployment.kv,
			Date.now(),
		);
		return c.json({
			spec: deployment.spec,
			state,
			analysis: report,
			...(deployment.kv.kind === "invalid" ? { stateIssues: deployment.kv.issues } : {}),
		});
	})
	.delete("/deployments/:name", async (c) => {
		const name = nameOf(c.req.param("name"));
		const deployment = await readDeployment(c.env.CONFIG, name);
		if (!deployment)
			throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		const now = Date.now();
		await Promise.all([c.env.CONFIG.delete(specKey(name)), c.env.CONFIG.delete(stateKey(name))]);
		await c.env.METRICS.getByName(name).forget(now);
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
		if (!(await readDeployment(c.env.CONFIG, name)))
			throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		const entries = await c.env.METRICS.getByName(name).history(limit, before);
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
		if (!(await readDeployment(c.env.CONFIG, name)))
			throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		const rows = metricsRows(await c.env.METRICS.getByName(name).series(from, to));
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
		if (!(await readDeployment(c.env.CONFIG, name)))
			throw new HttpError(404, "deployment_not_found", `no deployment named "${name}"`);
		const samples = await c.env.METRICS.getByName(name).shadowSamples(limit);
		const ndjson = samples
			.map((s) => JSON.stringify({ ...s, time: new Date(s.time).toISOString() }))
			.join("\n");
		return c.body(ndjson.length > 0 ? `${ndjson}\n` : "", 200, {
			"content-type": "application/x-ndjson; charset=utf-8",
		});
	});
