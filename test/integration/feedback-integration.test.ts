import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeploymentSpecInput } from "../../src/config/spec";
import { signingKeys } from "../../src/lib/keys";
import { signRequestId, unitTag } from "../../src/routing/request-id";
import { ADMIN_AUTH, deploy, predict, uniqueName, Visitor } from "../helpers/edge";
import { settledFeedback, shard } from "../helpers/metrics";
import { TEST_FEEDBACK_TOKEN, TEST_SIGNING_KEY } from "../helpers/secrets";

const TOKEN = { authorization: `Bearer ${TEST_FEEDBACK_TOKEN}` };

function sendFeedback(body: unknown, headers: Record<string, string> = TOKEN): Promise<Response> {
	return exports.default.fetch("http://switchyard.test/v1/feedback", {
		method: "POST",
		headers: { "content-type": "application/json", ...headers },
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

async function servedRequest(
	name: string,
	visitor = new Visitor(),
	headers: Record<string, string> = {},
): Promise<{ requestId: string; variant: string }> {
	const res = await visitor.predict(name, { headers });
	await res.arrayBuffer();
	return {
		requestId: res.headers.get("x-request-id") ?? "",
		variant: res.headers.get("x-model-variant") ?? "",
	};
}

/** Stored feedback once everything sent has landed: de-duplication happens in the shards. */
const totals = (name: string, shards?: number) => settledFeedback(name, shards);
const binary = { feedback: { kind: "binary" } } satisfies Partial<DeploymentSpecInput>;
const keys = signingKeys({ SIGNING_KEY: TEST_SIGNING_KEY });
const claims = (deployment: string, time: number) => ({
	deployment,
	assigned: "candidate" as const,
	fallback: false,
	diverted: false,
	pinned: false,
	failed: false,
	time,
	unit: unitTag("someone"),
});

describe("POST /v1/feedback, server to server (the default)", () => {
	it("attributes the value to the variant the request was assigned", async () => {
		const name = uniqueName("fb");
		await deploy(name, 100);
		const { requestId } = await servedRequest(name);
		const res = await sendFeedback({ requestId, value: 1 });
		expect(res.status).toBe(202);
		expect(await res.json()).toEqual({
			queued: true,
			deployment: name,
			variant: "candidate",
			fallback: false,
		});
		const feedback = await totals(name);
		expect(feedback.candidate).toMatchObject({ n: 1, mean: 1 });
		expect(feedback.champion.n).toBe(0);
	});

	it("refuses feedback without the token, or with a wrong one, with 401", async () => {
		const name = uniqueName("fb-auth");
		await deploy(name, 100);
		const { requestId } = await servedRequest(name);
		for (const headers of [
			{},
			{ authorization: "Bearer wrong" },
			{ authorization: "Basic x" },
		] as Record<string, string>[]) {
			const res = await sendFeedback({ requestId, value: 1 }, headers);
			expect(res.status).toBe(401);
			expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
		}
		expect((await totals(name)).candidate.n).toBe(0);
	});

	it("credits the candidate (flagged as a fallback) when the champion answered after it failed", async () => {
		const name = uniqueName("fb-fallback");
		await deploy(name, 100, { candidate: { version: "v2", service: "MODEL_BROKEN" } });
		const { requestId, variant } = await servedRequest(name);
		expect(variant).toBe("champion");
		const res = await sendFeedback({ requestId, value: 0 });
		expect(res.status).toBe(202);
		expect(await res.json()).toMatchObject({
			variant: "candidate",
			fallback: true,
			queued: true,
		});
		const feedback = await totals(name);
		expect(feedback.candidate.n).toBe(1);
		expect(feedback.champion.n).toBe(0);
	});

	it("keeps QA-pinned requests out of the analysis", async () => {
		const name = uniqueName("fb-pinned");
		await deploy(name, 0);
		const { requestId, variant } = await servedRequest(name, new Visitor(), {
			"x-switchyard-variant": "candidate",
			"x-switchyard-token": ADMIN_AUTH.authorization.slice("Bearer ".length),
		});
		expect(variant).toBe("candidate");
		const res = await sendFeedback({ requestId, value: 1 });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({
			queued: false,
			reason: expect.stringMatching(/pinned/),
		});
		expect((await totals(name)).candidate.n).toBe(0);
	});

	it("counts a repeated request id once, the first value it stored", async () => {
		const name = uniqueName("fb-dup");
		await deploy(name, 0, { feedback: { kind: "numeric", min: 0, max: 1 } });
		const { requestId } = await servedRequest(name);
		expect((await sendFeedback({ requestId, value: 0.25 })).status).toBe(202);
		expect((await totals(name)).champion).toMatchObject({ n: 1, mean: 0.25 });
		// Queued like the first (the edge cannot know yet); the shard of its unit drops it.
		const again = await sendFeedback({ requestId, value: 0.75 });
		expect(again.status).toBe(202);
		expect((await totals(name)).champion).toMatchObject({ n: 1, mean: 0.25 });
	});

	it("counts a request id once even when its copies reach different shards at once", async () => {
		const name = uniqueName("fb-dup-burst");
		await deploy(name, 0);
		const { requestId } = await servedRequest(name);
		// Each flush goes to the next shard in turn: the copies land on different shards, which
		// hand them to the shard of the request's unit.
		const answers = await Promise.all(
			Array.from({ length: 12 }, () => sendFeedback({ requestId, value: 1 })),
		);
		expect(answers.map((a) => a.status)).toEqual(Array(12).fill(202));
		expect((await totals(name)).champion).toMatchObject({ n: 1, mean: 1 });
	});

	it("takes only values of the spec's kind: 0/1 by default, [min, max] when numeric", async () => {
		const name = uniqueName("fb-kind");
		await deploy(name, 0);
		const numeric = uniqueName("fb-numeric");
		await deploy(numeric, 0, { feedback: { kind: "numeric", min: -5, max: 5 } });
		for (const [deployment, value, status] of [
			[name, 0.5, 400],
			[name, 2, 400],
			[name, 1e308, 400],
			[numeric, 5.5, 400],
			[numeric, -1e308, 400],
			[name, 1, 202],
			[numeric, -4.5, 202],
		] as const) {
			const { requestId } = await servedRequest(deployment);
			const res = await sendFeedback({ requestId, value });
			expect(res.status).toBe(status);
			if (status === 400)
				expect(await res.json()).toMatchObject({ error: { code: "invalid_value" } });
		}
		expect((await totals(numeric)).champion).toMatchObject({ n: 1, mean: -4.5 });
	});

	it("rejects a forged or malformed request id with 400 invalid_request_id", async () => {
		const name = uniqueName("fb-forged");
		await deploy(name, 0);
		const { requestId } = await servedRequest(name);
		for (const id of [requestId.replace(/\.a\./, ".b."), "not-an-id", 42, undefined]) {
			const res = await sendFeedback({ requestId: id, value: 1 });
			expect(res.status).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: "invalid_request_id" } });
		}
		const forged = await signRequestId(
			signingKeys({ SIGNING_KEY: "someone-elses-key" }),
			claims(name, Date.now()),
		);
		expect((await sendFeedback({ requestId: forged, value: 1 })).status).toBe(400);
	});

	it("rejects a missing or non-numeric value with 400 invalid_value", async () => {
		const name = uniqueName("fb-value");
		await deploy(name, 0);
		const { requestId } = await servedRequest(name);
		for (const value of [undefined, "1", null, "NaN", { n: 1 }]) {
			const res = await sendFeedback({ requestId, value });
			expect(res.status).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: "invalid_value" } });
		}
	});

	it("answers 410 for a request id older than the feedback window", async () => {
		const requestId = await signRequestId(
			keys,
			claims("old", Date.now() - 8 * 24 * 60 * 60 * 1000),
		);
		const res = await sendFeedback({ requestId, value: 1 });
		expect(res.status).toBe(410);
		expect(await res.json()).toMatchObject({ error: { code: "request_id_expired" } });
	});

	it("rejects a body that is not JSON", async () => {
		const res = await sendFeedback("{nope");
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
	});

	it("refuses feedback once the de-duplication set is full, instead of growing past its cap", async () => {
		const name = uniqueName("fb-full");
		// One shard holds the whole cap (FEEDBACK_SEEN_LIMIT, 1,000 in tests).
		await deploy(name, 0, { ingest: { shards: 1 } });
		await runInDurableObject(shard(name, 0), (_instance, state) => {
			for (let i = 0; i < 1000; i++)
				state.storage.sql.exec(
					"INSERT INTO feedback_seen (day, key) VALUES (?, ?)",
					Math.floor(Date.now() / 86_400_000),
					`seed-${i}`,
				);
		});
		const first = await servedRequest(name);
		// Validated and queued; the shard refuses to store it and says it is full.
		expect((await sendFeedback({ requestId: first.requestId, value: 1 })).status).toBe(202);
		expect((await totals(name, 1)).champion.n).toBe(0);
		const seen = await runInDurableObject(
			shard(name, 0),
			(_instance, state) =>
				state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM feedback_seen").one().n,
		);
		expect(seen).toBe(1000);
		// This isolate now knows: the next value is refused at once.
		const second = await servedRequest(name);
		const res = await sendFeedback({ requestId: second.requestId, value: 1 });
		expect(res.status).toBe(503);
		expect(await res.json()).toMatchObject({ error: { code: "feedback_capacity" } });
	});
});

describe("POST /v1/feedback, public (feedback.public)", () => {
	const publicSpec = {
		feedback: { kind: "binary", public: true },
	} satisfies Partial<DeploymentSpecInput>;

	it("takes tokenless feedback, but one value per unit per minute: a burst from one client counts once", async () => {
		const name = uniqueName("fb-burst");
		await deploy(name, 100, publicSpec);
		const attacker = new Visitor();
		const ids: string[] = [];
		for (let i = 0; i < 30; i++) ids.push((await servedRequest(name, attacker)).requestId);
		const honest = await servedRequest(name);
		const answers = await Promise.all(
			ids.map(
				async (requestId) =>
					(await sendFeedback({ requestId, value: 1 }, { "cf-connecting-ip": "198.51.100.1" }))
						.status,
			),
		);
		// All queued (the edge checks one request at a time); the shard of the unit keeps one.
		expect(answers).toEqual(Array(30).fill(202));
		await sendFeedback(
			{ requestId: honest.requestId, value: 0 },
			{ "cf-connecting-ip": "198.51.100.2" },
		);
		// One unit cannot outweigh the rest: one value per minute of request each (the burst
		// straddles a minute boundary now and then: a value for each minute it touched).
		const times = ids.map((id) => Number.parseInt(id.split(".")[4] ?? "", 36));
		expect(times.every((t) => Math.abs(t - Date.now()) < 600_000)).toBe(true);
		const minutes = new Set(times.map((t) => Math.floor(t / 60_000))).size;
		expect(minutes).toBeLessThanOrEqual(2);
		expect((await totals(name)).candidate).toMatchObject({
			n: minutes + 1,
			mean: minutes / (minutes + 1),
		});
	});

	it("rate-limits tokenless feedback per client address", async () => {
		const name = uniqueName("fb-limit");
		await deploy(name, 0, publicSpec);
		const { requestId } = await servedRequest(name);
		const statuses: number[] = [];
		for (let i = 0; i < 70; i++) {
			const res = await sendFeedback(
				{ requestId, value: 1 },
				{ "cf-connecting-ip": "198.51.100.99" },
			);
			statuses.push(res.status);
			await res.arrayBuffer();
		}
		expect(statuses).toContain(429);
		expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
	});

	it("still refuses tokenless feedback for a deployment that is not public", async () => {
		const name = uniqueName("fb-private");
		await deploy(name, 0, binary);
		const { requestId } = await servedRequest(name);
		expect(
			(await sendFeedback({ requestId, value: 1 }, { "cf-connecting-ip": "198.51.100.3" })).status,
		).toBe(401);
	});
});

describe("request ids through a key rotation", () => {
	it("accepts feedback for requests signed before the rotation", async () => {
		const name = uniqueName("fb-rotation");
		await deploy(name, 0);
		const { requestId } = await servedRequest(name);
		expect(requestId.split(".")[2]).toBe(keys.current.id);
		const res = await predict(name);
		expect(res.status).toBe(200);
		await res.arrayBuffer();
		expect((await sendFeedback({ requestId, value: 1 })).status).toBe(202);
	});
});

describe("feedback on an error", () => {
	it("reads no more than 4 KB of a feedback body (413)", async () => {
		const res = await sendFeedback({ requestId: "x", value: 1, padding: "x".repeat(8192) });
		expect(res.status).toBe(413);
		expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
	});

	it("refuses feedback for a request that got an error, not an answer (422 request_failed)", async () => {
		const name = uniqueName("fb-failed");
		await deploy(name, 100, {
			candidate: { version: "v2", service: "MODEL_BROKEN" },
			fallback: false,
		});
		const failed = await predict(name);
		expect(failed.status).toBe(500);
		await failed.arrayBuffer();
		const requestId = failed.headers.get("x-request-id") ?? "";
		const res = await sendFeedback({ requestId, value: 1 });
		expect(res.status).toBe(422);
		expect(await res.json()).toMatchObject({ error: { code: "request_failed" } });
		// A client's own bad request is no answer either.
		const junk = await predict(name, { method: "GET" });
		await junk.arrayBuffer();
		const refused = await sendFeedback({ requestId: junk.headers.get("x-request-id"), value: 1 });
		expect(refused.status).toBe(422);
		// Nor is a preflight or a HEAD, which the backend answered but which predicted nothing.
		const ok = uniqueName("fb-no-prediction");
		await deploy(ok, 100);
		for (const method of ["OPTIONS", "HEAD"]) {
			const probe = await predict(ok, { method });
			await probe.arrayBuffer();
			const id = probe.headers.get("x-request-id");
			expect(id).toBeTruthy();
			expect((await sendFeedback({ requestId: id, value: 1 })).status).toBe(422);
		}
		const real = await predict(ok);
		await real.arrayBuffer();
		expect(
			(await sendFeedback({ requestId: real.headers.get("x-request-id"), value: 1 })).status,
		).toBe(202);
	});
});
