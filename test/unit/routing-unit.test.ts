import { describe, expect, it } from "vitest";
import { DeploymentSpec } from "../../src/config/spec";
import { resolveUpstream } from "../../src/routing/forward";
import { forwardHeaders, withoutCookie } from "../../src/routing/headers";
import { signRequestId, verifyRequestId } from "../../src/routing/request-id";
import { compareOutputs, deepEqual } from "../../src/shadow/compare";

describe("forwarded headers", () => {
	it("drops hop-by-hop headers, those named in Connection, and Switchyard's own", () => {
		const headers = forwardHeaders(
			new Headers({
				connection: "keep-alive, x-trace-hop",
				"keep-alive": "timeout=5",
				"x-trace-hop": "1",
				upgrade: "h2c",
				"x-switchyard-variant": "candidate",
				"content-type": "application/json",
				"x-user-id": "u1",
				cookie: "a=1; sy_uid=abc.sig; b=2",
			}),
			{ cookieName: "sy_uid", dropAuthorization: false },
		);
		expect([...headers.keys()].sort()).toEqual(["content-type", "cookie", "x-user-id"]);
		expect(headers.get("cookie")).toBe("a=1; b=2");
	});

	it("drops Authorization only when it carried the admin token", () => {
		const incoming = new Headers({ authorization: "Bearer x" });
		expect(
			forwardHeaders(incoming, { cookieName: "sy_uid", dropAuthorization: true }).has(
				"authorization",
			),
		).toBe(false);
		expect(
			forwardHeaders(incoming, { cookieName: "sy_uid", dropAuthorization: false }).get(
				"authorization",
			),
		).toBe("Bearer x");
	});

	it("removes the cookie header entirely when only Switchyard's cookie was there", () => {
		expect(withoutCookie("sy_uid=1", "sy_uid")).toBe("");
		expect(withoutCookie("sy_uidx=1; sy_uid=2", "sy_uid")).toBe("sy_uidx=1");
	});
});

describe("upstream resolution", () => {
	const backend = (b: object) => DeploymentSpec.shape.champion.parse({ version: "v1", ...b });

	it("appends the rest of the path and the query to a base URL", () => {
		expect(
			resolveUpstream(
				backend({ url: "https://m.example/sentiment/v1/" }),
				{},
				"/predict",
				"?x=1",
				"https://edge",
			),
		).toEqual({
			url: "https://m.example/sentiment/v1/predict?x=1",
		});
	});

	it("sends to a service binding by name, and reports a missing binding", () => {
		const fetcher = { fetch: () => Promise.resolve(new Response()) };
		const resolved = resolveUpstream(
			backend({ service: "MODEL" }),
			{ MODEL: fetcher },
			"/p",
			"",
			"https://edge",
		);
		expect(resolved).toMatchObject({ url: "https://edge/p", fetcher });
		expect(resolveUpstream(backend({ service: "NOPE" }), {}, "/p", "", "https://edge")).toEqual({
			error: "service binding NOPE is not configured",
		});
	});
});

describe("signed request ids", () => {
	const claims = { deployment: "demo-ab", variant: "candidate" as const, time: 1_764_000_000_123 };

	it("round-trips deployment, variant and time", async () => {
		const id = await signRequestId("key", claims);
		expect(id).toMatch(/^v1\.demo-ab\.b\.[0-9a-z]+\.[0-9a-f]{8}\.[A-Za-z0-9_-]{22}$/);
		expect(await verifyRequestId("key", id)).toEqual(claims);
	});

	it("rejects a tampered id, another key's id and garbage", async () => {
		const id = await signRequestId("key", claims);
		expect(await verifyRequestId("key", id.replace(".b.", ".a."))).toBeNull();
		expect(await verifyRequestId("other-key", id)).toBeNull();
		expect(await verifyRequestId("key", "v1.demo-ab.b.zz.0000.x")).toBeNull();
		expect(await verifyRequestId("key", "")).toBeNull();
	});
});

describe("shadow output comparison", () => {
	const a = JSON.stringify({ label: "positive", score: 0.71, meta: { v: 1 } });
	const b = JSON.stringify({ meta: { v: 1 }, score: 0.74, label: "positive" });

	it("compares whole JSON bodies structurally (key order does not matter)", () => {
		expect(compareOutputs(a, a, {}).agreed).toBe(true);
		expect(compareOutputs(a, b, {}).agreed).toBe(false);
		expect(deepEqual({ x: [1, { y: 2 }] }, { x: [1, { y: 2 }] })).toBe(true);
	});

	it("compares one field", () => {
		expect(compareOutputs(a, b, { field: "label" })).toMatchObject({
			agreed: true,
			champion: "positive",
		});
		expect(compareOutputs(a, b, { field: "meta.v" }).agreed).toBe(true);
	});

	it("compares a numeric field within a tolerance", () => {
		expect(compareOutputs(a, b, { field: "score", tolerance: 0.05 }).agreed).toBe(true);
		expect(compareOutputs(a, b, { field: "score", tolerance: 0.01 }).agreed).toBe(false);
	});

	it("cannot compare a missing field, a non-numeric tolerance field or non-JSON by field", () => {
		expect(compareOutputs(a, b, { field: "nope" })).toEqual({
			agreed: null,
			reason: "field nope is missing",
		});
		expect(compareOutputs(a, b, { field: "label", tolerance: 1 }).agreed).toBeNull();
		expect(compareOutputs("oops", b, { field: "label" }).agreed).toBeNull();
	});

	it("compares non-JSON bodies as text when no field is set", () => {
		expect(compareOutputs("same", "same", {}).agreed).toBe(true);
		expect(compareOutputs("same", "other", {}).agreed).toBe(false);
	});
});

describe("request targets", () => {
	it("splits a URL into origin, raw path and query without decoding", async () => {
		const { requestTarget } = await import("../../src/routing/forward");
		expect(requestTarget("https://edge.example.com/v1/models/a/p%2Fq?x=1&y=%20#frag")).toEqual({
			origin: "https://edge.example.com",
			path: "/v1/models/a/p%2Fq",
			search: "?x=1&y=%20",
			secure: true,
		});
		expect(requestTarget("http://127.0.0.1:8787/healthz")).toEqual({
			origin: "http://127.0.0.1:8787",
			path: "/healthz",
			search: "",
			secure: false,
		});
	});
});

describe("the unit cookie", () => {
	it("verifies cookies in the format hono's generateSignedCookie writes, and nothing else", async () => {
		const { generateSignedCookie } = await import("hono/cookie");
		const { verifiedUnitCookie } = await import("../../src/routing/unit");
		const id = "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";
		const setCookie = await generateSignedCookie("sy_uid", id, "secret-key", { path: "/" });
		const pair = setCookie.split(";")[0] as string;
		expect(await verifiedUnitCookie(`theme=dark; ${pair}`, "secret-key")).toBe(id);
		expect(await verifiedUnitCookie(pair, "another-key")).toBeNull();
		expect(await verifiedUnitCookie(pair.replace("6f1c", "7f1c"), "secret-key")).toBeNull();
		expect(await verifiedUnitCookie("sy_uid=%%%", "secret-key")).toBeNull();
		expect(await verifiedUnitCookie("sy_uid=abc.def", "secret-key")).toBeNull();
		expect(await verifiedUnitCookie(null, "secret-key")).toBeNull();
	});
});
