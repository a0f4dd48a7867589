import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signRequestId } from "../../src/routing/request-id";
import { deploy, uniqueName, Visitor } from "../helpers/edge";
import { store } from "../helpers/metrics";
import { TEST_SIGNING_KEY } from "../helpers/secrets";

function sendFeedback(body: unknown): Promise<Response> {
	return exports.default.fetch("http://switchyard.test/v1/feedback", {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

async function servedRequest(name: string): Promise<{ requestId: string; variant: string }> {
	const res = await new Visitor().predict(name);
	await res.arrayBuffer();
	return {
		requestId: res.headers.get("x-request-id") ?? "",
		variant: res.headers.get("x-model-variant") ?? "",
	};
}

describe("POST /v1/feedback", () => {
	it("attributes the value to the variant that served the request", async () => {
		const name = uniqueName("fb");
		await deploy(name, 100);
		const { requestId } = await servedRequest(name);
		const res = await sendFeedback({ requestId, value: 1 });
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({
			accepted: true,
			duplicate: false,
			deployment: name,
			variant: "candidate",
		});
		const feedback = await store(name).feedback(0, Date.now() + 60_000);
		expect(feedback.candidate).toMatchObject({ n: 1, mean: 1 });
		expect(feedback.champion.n).toBe(0);
	});

	it("counts a repeated request id once and says it was a duplicate", async () => {
		const name = uniqueName("fb-dup");
		await deploy(name, 0);
		const { requestId } = await servedRequest(name);
		expect((await sendFeedback({ requestId, value: 0.25 })).status).toBe(200);
		const again = await sendFeedback({ requestId, value: 0.75 });
		expect(again.status).toBe(200);
		expect(await again.json()).toMatchObject({ accepted: false, duplicate: true });
		const feedback = await store(name).feedback(0, Date.now() + 60_000);
		expect(feedback.champion).toMatchObject({ n: 1, mean: 0.25 });
	});

	it("rejects a forged or malformed request id with 400 invalid_request_id", async () => {
		const name = uniqueName("fb-forged");
		await deploy(name, 0);
		const { requestId } = await servedRequest(name);
		for (const id of [requestId.replace(".a.", ".b."), "not-an-id", 42, undefined]) {
			const res = await sendFeedback({ requestId: id, value: 1 });
			expect(res.status).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: "invalid_request_id" } });
		}
		const forgedWithOtherKey = await signRequestId("someone-elses-key", {
			deployment: name,
			variant: "candidate",
			time: Date.now(),
		});
		expect((await sendFeedback({ requestId: forgedWithOtherKey, value: 1 })).status).toBe(400);
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
		const eightDaysAgo = Date.now() - 8 * 24 * 60 * 60 * 1000;
		const requestId = await signRequestId(TEST_SIGNING_KEY, {
			deployment: "old",
			variant: "champion",
			time: eightDaysAgo,
		});
		const res = await sendFeedback({ requestId, value: 1 });
		expect(res.status).toBe(410);
		expect(await res.json()).toMatchObject({ error: { code: "request_id_expired" } });
	});

	it("rejects a body that is not JSON", async () => {
		const res = await sendFeedback("{nope");
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
	});
});
