import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers /healthz", async () => {
	const res = await exports.default.fetch("http://example.com/healthz");
	expect(res.status).toBe(200);
	expect(await res.json()).toEqual({ ok: true });
});

it("proxies to a demo model", async () => {
	await env.CONFIG.put(
		"deployment:smoke",
		JSON.stringify({ name: "smoke", strategy: "ab", champion: { version: "v1", service: "MODEL_V1" }, candidate: { version: "v2", service: "MODEL_V2" } }),
	);
	const res = await exports.default.fetch("http://example.com/v1/models/smoke/predict", {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ text: "great stuff" }),
	});
	console.log(res.status, Object.fromEntries(res.headers), await res.text());
	expect(res.status).toBe(200);
});
