import { env, exports } from "cloudflare:workers";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { admin, adminJson } from "../helpers/admin";
import { aggregate } from "../helpers/aggregates";
import { look, recordTraffic } from "../helpers/controller";
import { ADMIN_AUTH, deploy, ORIGIN, putSpec, spec, uniqueName, Visitor } from "../helpers/edge";
import { store, waitForRequests } from "../helpers/metrics";

type Json = Record<string, unknown>;

describe("admin auth", () => {
	it("answers 401 with the envelope without a token and with a wrong one", async () => {
		const attempts: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token" }];
		for (const headers of attempts) {
			const res = await admin("GET", "/deployments", undefined, headers);
			expect(res.status).toBe(401);
			expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
			expect(res.headers.get("www-authenticate")).toMatch(/Bearer/);
		}
	});

	it("lets the right token in, with secure headers and no CORS", async () => {
		const res = await admin("GET", "/deployments");
		expect(res.status).toBe(200);
		expect(res.headers.get("x-content-type-options")).toBe("nosniff");
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
	});
});

describe("PUT /admin/api/deployments/:name", () => {
	it("creates a deployment (201), fills defaults, and says when the edge sees it", async () => {
		const name = uniqueName("create");
		const { status, body } = await adminJson<Json>(
			"PUT",
			`/deployments/${name}`,
			spec(name, { strategy: "canary" }),
		);
		expect(status).toBe(201);
		expect(body).toMatchObject({
			created: true,
			spec: { name, canary: { steps: [1, 5, 25, 50, 100] } },
			effective: { withinSeconds: 0 },
		});
		expect(JSON.parse((await env.CONFIG.get(`deployment:${name}`)) ?? "{}")).toMatchObject({
			name,
			strategy: "canary",
		});
		const replaced = await adminJson(
			"PUT",
			`/deployments/${name}`,
			spec(name, { strategy: "canary", timeoutMs: 500 }),
		);
		expect(replaced.status).toBe(200);
	});

	it("answers 400 with every zod issue and its JSON path", async () => {
		const name = uniqueName("invalid");
		const { status, body } = await adminJson<{
			error: { code: string; details: { path: string; message: string }[] };
		}>("PUT", `/deployments/${name}`, {
			...spec(name),
			strategy: "rainbow",
			canary: { steps: [5, 1] },
			candidate: { version: "v2" },
		});
		expect(status).toBe(400);
		expect(body.error.code).toBe("invalid_spec");
		expect(body.error.details.map((d) => d.path)).toEqual(
			expect.arrayContaining(["strategy", "canary.steps", "candidate"]),
		);
	});

	it("refuses a body whose name differs from the path", async () => {
		const { status, body } = await adminJson<Json>(
			"PUT",
			"/deployments/one-name",
			spec("another-name"),
		);
		expect(status).toBe(400);
		expect(body).toMatchObject({ error: { code: "name_mismatch" } });
	});

	it("refuses a salt change on a live deployment unless ?rebucket=true", async () => {
		const name = uniqueName("salt");
		await deploy(name, 50, { assignment: { unit: "cookie", salt: "one" } });
		const changed = spec(name, { assignment: { unit: "cookie", salt: "two" } });
		const refused = await adminJson<Json>("PUT", `/deployments/${name}`, changed);
		expect(refused.status).toBe(409);
		expect(refused.body).toMatchObject({
			error: { code: "rebucket_refused", details: { from: { salt: "one" }, to: { salt: "two" } } },
		});
		const forced = await admin("PUT", `/deployments/${name}?rebucket=true`, changed);
		expect(forced.status).toBe(200);
		const history = await adminJson<{ entries: { kind: string; reason: string }[] }>(
			"GET",
			`/deployments/${name}/history`,
		);
		expect(history.body.entries[0]).toMatchObject({
			kind: "admin:replace",
			reason: expect.stringMatching(/reassigned/),
		});
	});

	it("refuses a new backend or version for a variant of a rollout in progress unless ?force=true", async () => {
		const name = uniqueName("swap");
		await deploy(name, 25);
		const swapped = spec(name, { candidate: { version: "v3", service: "MODEL_V2" } });
		const refused = await adminJson<Json>("PUT", `/deployments/${name}`, swapped);
		expect(refused.status).toBe(409);
		expect(refused.body).toMatchObject({
			error: {
				code: "backend_change_refused",
				details: [{ variant: "candidate", from: "v2 @ MODEL_V2", to: "v3 @ MODEL_V2" }],
			},
		});
		// Anything else (a guardrail, a price) changes freely; so does the backend when forced.
		const tuned = spec(name, { canary: { maxErrorRate: 0.2 } });
		expect((await admin("PUT", `/deployments/${name}`, tuned)).status).toBe(200);
		expect((await admin("PUT", `/deployments/${name}?force=true`, swapped)).status).toBe(200);
	});

	it("allows a salt change before the rollout starts", async () => {
		const name = uniqueName("salt-pending");
		await putSpec(spec(name, { assignment: { unit: "cookie", salt: "one" } }));
		expect(
			(
				await admin(
					"PUT",
					`/deployments/${name}`,
					spec(name, { assignment: { unit: "cookie", salt: "two" } }),
				)
			).status,
		).toBe(200);
	});
});

describe("reading deployments", () => {
	it("lists deployments with status and weight", async () => {
		const name = uniqueName("listed");
		await deploy(name, 30);
		const { body } = await adminJson<{ deployments: Json[] }>("GET", "/deployments");
		expect(body.deployments).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ name, strategy: "ab", status: "running", weight: 30 }),
			]),
		);
	});

	it("shows spec, state and the live analysis", async () => {
		const name = uniqueName("analysis");
		await deploy(name, 50);
		await recordTraffic(name, 50, 400);
		const { status, body } = await adminJson<Json>("GET", `/deployments/${name}`);
		expect(status).toBe(200);
		expect(body).toMatchObject({
			spec: { name, strategy: "ab" },
			state: { status: "running", weight: 50 },
			analysis: {
				strategy: "ab",
				primary: "feedback",
				verdict: "no_difference_yet",
				champion: { requests: 200 },
				candidate: { requests: 200 },
			},
		});
	});

	it("answers 404 for an unknown deployment", async () => {
		expect((await adminJson<Json>("GET", "/deployments/nope")).body).toMatchObject({
			error: { code: "deployment_not_found" },
		});
	});

	it("reports a spec that is invalid in KV instead of hiding it", async () => {
		const name = uniqueName("bad-kv");
		await env.CONFIG.put(`deployment:${name}`, JSON.stringify({ name, strategy: "ab" }));
		const { body } = await adminJson<Json>("GET", `/deployments/${name}`);
		expect(body).toMatchObject({
			spec: null,
			specIssues: expect.arrayContaining([expect.objectContaining({ path: "champion" })]),
		});
	});
});

describe("actions", () => {
	it("runs start → pause → resume → weight → promote, each published to KV and logged", async () => {
		const name = uniqueName("actions");
		await putSpec(spec(name, { strategy: "canary" }));
		const started = await adminJson<Json>("POST", `/deployments/${name}/start`, {
			reason: "ship it",
		});
		expect(started).toMatchObject({
			status: 200,
			body: { state: { status: "running", weight: 1, updatedBy: "admin", reason: "ship it" } },
		});
		expect(JSON.parse((await env.CONFIG.get(`state:${name}`)) ?? "{}")).toMatchObject({
			status: "running",
			weight: 1,
		});
		expect((await adminJson("POST", `/deployments/${name}/pause`)).body).toMatchObject({
			state: { status: "paused" },
		});
		expect((await adminJson("POST", `/deployments/${name}/resume`)).body).toMatchObject({
			state: { status: "running" },
		});
		expect(
			(await adminJson("PUT", `/deployments/${name}/weight`, { weight: 25 })).body,
		).toMatchObject({ state: { weight: 25, step: 2 } });
		expect((await adminJson("POST", `/deployments/${name}/promote`)).body).toMatchObject({
			state: { status: "promoted", weight: 100 },
		});
		const visitors = await Promise.all(
			Array.from({ length: 10 }, () => new Visitor().variant(name)),
		);
		expect(new Set(visitors)).toEqual(new Set(["candidate"]));

		const history = await adminJson<{
			entries: { kind: string; actor: string; from: Json; to: Json }[];
			next: string | null;
		}>("GET", `/deployments/${name}/history`);
		expect(history.body.entries.map((e) => e.kind)).toEqual([
			"admin:promote",
			"admin:weight",
			"admin:resume",
			"admin:pause",
			"admin:start",
		]);
		expect(history.body.entries[0]).toMatchObject({
			actor: "admin",
			from: { status: "running", weight: 25 },
			to: { status: "promoted", weight: 100 },
		});
	});

	it("aborts, and refuses to resume an aborted rollout with 409 and the current state", async () => {
		const name = uniqueName("abort");
		await deploy(name, 10, { strategy: "canary" });
		expect(
			(await adminJson("POST", `/deployments/${name}/abort`, { reason: "pager" })).body,
		).toMatchObject({ state: { status: "aborted", weight: 0, reason: "pager" } });
		const refused = await adminJson<Json>("POST", `/deployments/${name}/resume`);
		expect(refused.status).toBe(409);
		expect(refused.body).toMatchObject({
			error: {
				code: "invalid_transition",
				message: "cannot resume a rollout that is aborted",
				details: { state: { status: "aborted" } },
			},
		});
	});

	it("refuses a stale revision", async () => {
		const name = uniqueName("revision");
		await putSpec(spec(name, { strategy: "canary" }));
		await admin("POST", `/deployments/${name}/start`);
		const res = await adminJson<Json>("POST", `/deployments/${name}/pause`, { revision: 0 });
		expect(res.status).toBe(409);
		expect(res.body).toMatchObject({ error: { message: expect.stringMatching(/revision/) } });
	});

	it("validates the weight and the action name", async () => {
		const name = uniqueName("validate");
		await deploy(name, 10);
		const bad = await adminJson<Json>("PUT", `/deployments/${name}/weight`, { weight: 101 });
		expect(bad.status).toBe(400);
		expect(bad.body).toMatchObject({
			error: { code: "invalid_request", details: [expect.objectContaining({ path: "weight" })] },
		});
		expect((await admin("POST", `/deployments/${name}/explode`)).status).toBe(404);
		expect((await admin("POST", "/deployments/missing/start")).status).toBe(404);
	});

	it("finalize makes the promoted candidate the champion", async () => {
		const name = uniqueName("finalize");
		await deploy(name, 100, {}, "promoted");
		const res = await adminJson<Json>("POST", `/deployments/${name}/finalize`);
		expect(res.body).toMatchObject({ state: { status: "concluded", weight: 0 } });
		expect(JSON.parse((await env.CONFIG.get(`deployment:${name}`)) ?? "{}")).toMatchObject({
			champion: { version: "v2" },
		});
		expect(await new Visitor().variant(name)).toBe("champion");
	});

	it("deletes a deployment", async () => {
		const name = uniqueName("delete");
		await deploy(name, 10);
		expect((await admin("DELETE", `/deployments/${name}`)).status).toBe(200);
		expect(await env.CONFIG.get(`deployment:${name}`)).toBeNull();
		expect(await env.CONFIG.get(`state:${name}`)).toBeNull();
		expect((await admin("DELETE", `/deployments/${name}`)).status).toBe(404);
	});
});

describe("history pagination", () => {
	it("pages newest first with a cursor", async () => {
		const name = uniqueName("pages");
		await putSpec(spec(name, { strategy: "canary" }));
		await admin("POST", `/deployments/${name}/start`);
		for (let i = 0; i < 3; i++) {
			await admin("POST", `/deployments/${name}/pause`);
			await admin("POST", `/deployments/${name}/resume`);
		}
		const first = await adminJson<{ entries: { id: number; kind: string }[]; next: string }>(
			"GET",
			`/deployments/${name}/history?limit=4`,
		);
		expect(first.body.entries).toHaveLength(4);
		const second = await adminJson<{ entries: { id: number }[]; next: string | null }>(
			"GET",
			`/deployments/${name}/history?limit=4&before=${first.body.next}`,
		);
		expect(second.body.entries).toHaveLength(3);
		expect(second.body.next).toBeNull();
		expect(Math.max(...second.body.entries.map((e) => e.id))).toBeLessThan(
			Math.min(...first.body.entries.map((e) => e.id)),
		);
	});
});

describe("exports", () => {
	it("serves per-minute metrics per variant as JSON and CSV", async () => {
		const name = uniqueName("metrics");
		await deploy(name, 50);
		for (let i = 0; i < 20; i++) await new Visitor().variant(name);
		await waitForRequests(name, 20);
		const { body } = await adminJson<{ rows: Json[] }>("GET", `/deployments/${name}/metrics`);
		const total = body.rows.reduce((s, r) => s + Number(r.requests), 0);
		expect(total).toBe(20);
		expect(body.rows[0]).toMatchObject({
			minute: expect.stringMatching(/:00\.000Z$/),
			variant: expect.stringMatching(/^(champion|candidate)$/),
			errors: 0,
			fallbacks: 0,
			diverted: 0,
			latency: {
				mean: expect.any(Number),
				p50: expect.any(Number),
				p95: expect.any(Number),
				p99: expect.any(Number),
			},
			feedback: { n: 0, mean: 0 },
		});
		const csv = await admin("GET", `/deployments/${name}/metrics?format=csv`);
		expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
		const lines = (await csv.text()).trim().split("\n");
		expect(lines[0]).toMatch(/^minute,variant,requests,errors,/);
		expect(lines).toHaveLength(body.rows.length + 1);
	});

	it("rejects a bad time range", async () => {
		const name = uniqueName("range");
		await deploy(name, 50);
		expect((await admin("GET", `/deployments/${name}/metrics?from=yesterday`)).status).toBe(400);
		expect((await admin("GET", `/deployments/${name}/metrics?from=2000&to=1000`)).status).toBe(400);
	});

	it("serves shadow samples as NDJSON", async () => {
		const name = uniqueName("samples");
		await deploy(
			name,
			0,
			{ strategy: "shadow", shadow: { compare: { field: "label" } } },
			"shadowing",
		);
		for (const text of ["not good", "great"]) await new Visitor().predict(name, { text });
		await waitForRequests(name, 2, ["shadow"]);
		const res = await admin("GET", `/deployments/${name}/shadow-samples`);
		expect(res.headers.get("content-type")).toMatch(/application\/x-ndjson/);
		const samples = (await res.text())
			.trim()
			.split("\n")
			.map((line) => JSON.parse(line));
		expect(samples).toHaveLength(2);
		expect(samples[0]).toMatchObject({
			inputHash: expect.any(String),
			agreed: expect.any(Boolean),
			candidateOutcome: "ok",
			time: expect.stringMatching(/Z$/),
		});
	});
});

describe("isolate counters and liveness", () => {
	it("answers /healthz with liveness only, and keeps the counters behind admin auth", async () => {
		const health = await exports.default.fetch(`${ORIGIN}/healthz`);
		expect(await health.json()).toEqual({ ok: true });
		expect((await admin("GET", "/isolate", undefined, {})).status).toBe(401);
		const { status, body } = await adminJson<Json>("GET", "/isolate");
		expect(status).toBe(200);
		expect(body).toEqual({
			metrics: {
				flushes: expect.any(Number),
				flushFailures: expect.any(Number),
				droppedObservations: expect.any(Number),
				droppedFeedback: expect.any(Number),
				duplicateBatches: expect.any(Number),
				feedbackQueued: expect.any(Number),
			},
			breaker: { trips: expect.any(Number), diverted: expect.any(Number) },
		});
	});
});

describe("GET /admin/api/metrics/prometheus", () => {
	it("exposes requests, errors, fallbacks, latency quantiles, state and weight per deployment and variant", async () => {
		const name = uniqueName("prom");
		await deploy(name, 30, { strategy: "canary", canary: { steps: [30, 100] } });
		const minute = Math.floor(Date.now() / 60_000) - 1;
		await store(name).ingest({
			rows: [
				{
					minute,
					variant: "champion",
					threshold: 3000,
					epoch: 0,
					aggregate: aggregate(700, 7, 80),
				},
				{
					minute,
					variant: "candidate",
					threshold: 3000,
					epoch: 0,
					aggregate: aggregate(300, 12, 120, { fallbacks: 12, streamErrors: 3 }),
				},
			],
			samples: [],
			observations: 1000,
		});
		await look(name);
		const res = await admin("GET", "/metrics/prometheus");
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
		const families = parsePrometheusTextFormat(await res.text());
		const family = (n: string) => {
			const found = families.find((f) => f.name === n);
			if (!found) throw new Error(`no ${n} in the exposition`);
			return found;
		};
		const of = (n: string, labels: Record<string, string>) =>
			family(n).metrics.find((m) =>
				Object.entries({ deployment: name, ...labels }).every(([k, v]) => m.labels?.[k] === v),
			);
		expect(family("switchyard_requests").type).toBe("GAUGE");
		expect(of("switchyard_requests", { variant: "champion" })?.value).toBe("700");
		expect(of("switchyard_requests", { variant: "candidate" })?.value).toBe("300");
		expect(of("switchyard_errors", { variant: "candidate", kind: "5xx" })?.value).toBe("12");
		expect(of("switchyard_errors", { variant: "candidate", kind: "stream" })?.value).toBe("3");
		expect(of("switchyard_errors", { variant: "champion", kind: "timeout" })?.value).toBe("0");
		expect(of("switchyard_fallbacks", { variant: "candidate" })?.value).toBe("12");
		const p50 = Number(
			of("switchyard_latency_milliseconds", { variant: "candidate", quantile: "0.5" })?.value,
		);
		const p99 = Number(
			of("switchyard_latency_milliseconds", { variant: "candidate", quantile: "0.99" })?.value,
		);
		const mean = Number(
			of("switchyard_latency_mean_milliseconds", { variant: "candidate" })?.value,
		);
		// The candidate's latencies are log-normal around a median of 120 ms (the champion's, 80 ms).
		expect(p50).toBeGreaterThan(110);
		expect(p50).toBeLessThan(130);
		expect(p99).toBeGreaterThan(p50);
		expect(mean).toBeGreaterThan(p50);
		expect(
			Number(
				of("switchyard_latency_milliseconds", { variant: "champion", quantile: "0.5" })?.value,
			),
		).toBeLessThan(90);
		expect(of("switchyard_weight_percent", {})?.value).toBe("30");
		expect(of("switchyard_rollout_status", { status: "running" })?.value).toBe("1");
		expect(of("switchyard_rollout_status", { status: "aborted" })?.value).toBe("0");
		expect(family("switchyard_window_seconds").metrics[0]?.value).toBe("300");
	});

	it("needs the admin token", async () => {
		expect((await admin("GET", "/metrics/prometheus", undefined, {})).status).toBe(401);
	});
});

describe("one error code, one status", () => {
	it("answers malformed JSON with invalid_json, a non-JSON body with 415, and schema failures with invalid_request", async () => {
		const name = uniqueName("errors");
		await deploy(name, 10, { strategy: "canary" });
		const malformed = await exports.default.fetch(`${ORIGIN}/admin/api/deployments/${name}/pause`, {
			method: "POST",
			headers: { ...ADMIN_AUTH, "content-type": "application/json" },
			body: "{not json",
		});
		expect(malformed.status).toBe(400);
		expect(await malformed.json()).toMatchObject({ error: { code: "invalid_json" } });
		const form = await exports.default.fetch(`${ORIGIN}/admin/api/deployments/${name}/pause`, {
			method: "POST",
			headers: { ...ADMIN_AUTH, "content-type": "application/x-www-form-urlencoded" },
			body: "reason=x",
		});
		expect(form.status).toBe(415);
		expect(await form.json()).toMatchObject({ error: { code: "unsupported_media_type" } });
		const empty = await exports.default.fetch(`${ORIGIN}/admin/api/deployments/${name}/pause`, {
			method: "POST",
			headers: { ...ADMIN_AUTH, "content-type": "application/json" },
		});
		expect(empty.status).toBe(200);
		expect(await empty.json()).toMatchObject({ state: { status: "paused" } });
		const badQuery = await adminJson<Json>("GET", `/deployments/${name}/history?limit=0`);
		expect(badQuery).toMatchObject({
			status: 400,
			body: {
				error: { code: "invalid_request", details: [expect.objectContaining({ path: "limit" })] },
			},
		});
		const extra = await adminJson<Json>("POST", `/deployments/${name}/pause`, { reasons: "typo" });
		expect(extra).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
	});

	it("answers every per-deployment route for an unknown deployment with the same 404", async () => {
		for (const [method, path] of [
			["GET", "/deployments/ghost"],
			["DELETE", "/deployments/ghost"],
			["GET", "/deployments/ghost/history"],
			["GET", "/deployments/ghost/metrics"],
			["GET", "/deployments/ghost/shadow-samples"],
			["POST", "/deployments/ghost/approve"],
			["PUT", "/deployments/ghost/weight"],
			["GET", "/deployments/NOT..valid/history"],
		] as const) {
			const res = await adminJson<Json>(method, path, method === "PUT" ? { weight: 5 } : undefined);
			expect(res, `${method} ${path}`).toMatchObject({
				status: 404,
				body: { error: { code: "deployment_not_found" } },
			});
		}
	});
});
