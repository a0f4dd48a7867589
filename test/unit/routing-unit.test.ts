import { describe, expect, it } from "vitest";
import { resolveUpstream } from "../../src/backends/registry";
import { DeploymentSpec } from "../../src/config/spec";
import { keyId, signingKeys } from "../../src/lib/keys";
import { forwardHeaders, withoutCookie } from "../../src/routing/headers";
import { signRequestId, unitTag, verifyRequestId } from "../../src/routing/request-id";
import { climbsOut } from "../../src/routing/target";
import { unitCookie, verifiedUnitCookie } from "../../src/routing/unit";
import { compareOutputs, deepEqual } from "../../src/shadow/compare";

const forwarded = { clientIp: "203.0.113.7", proto: "https" as const, host: "edge.example" };
const options = {
	cookieName: "sy_uid",
	secrets: ["admin-token-123456", "feedback-token-abcdef"],
	forwarded,
};

describe("forwarded headers", () => {
	it("drops hop-by-hop headers, those named in Connection, and Switchyard's own", () => {
		const headers = forwardHeaders(
			new Headers({
				connection: "keep-alive, x-trace-hop",
				"keep-alive": "timeout=5",
				"x-trace-hop": "1",
				upgrade: "h2c",
				"x-switchyard-variant": "candidate",
				"x-switchyard-token": "anything",
				"content-type": "application/json",
				"x-user-id": "u1",
				cookie: "a=1; sy_uid=abc.sig; b=2",
			}),
			options,
		);
		expect([...headers.keys()].sort()).toEqual([
			"content-type",
			"cookie",
			"x-forwarded-for",
			"x-forwarded-host",
			"x-forwarded-proto",
			"x-user-id",
		]);
		expect(headers.get("cookie")).toBe("a=1; b=2");
	});

	it("passes the model's Authorization through, but never a header carrying a secret", () => {
		const passed = forwardHeaders(new Headers({ authorization: "Bearer model-key" }), options);
		expect(passed.get("authorization")).toBe("Bearer model-key");
		for (const [name, value] of [
			["authorization", "Bearer admin-token-123456"],
			["x-api-key", "admin-token-123456"],
			["cookie", "session=feedback-token-abcdef"],
			["x-anything", "prefix admin-token-123456 suffix"],
		]) {
			expect(
				forwardHeaders(new Headers({ [name as string]: value as string }), options).has(
					name as string,
				),
			).toBe(false);
		}
	});

	it("replaces the client's forwarding claims with what the edge knows", () => {
		const headers = forwardHeaders(
			new Headers({
				"x-forwarded-for": "6.6.6.6",
				forwarded: "for=6.6.6.6",
				"x-forwarded-host": "evil.example",
				"x-real-ip": "6.6.6.6",
			}),
			options,
		);
		expect(headers.get("x-forwarded-for")).toBe("203.0.113.7");
		expect(headers.get("x-forwarded-host")).toBe("edge.example");
		expect(headers.get("x-forwarded-proto")).toBe("https");
		expect(headers.has("forwarded")).toBe(false);
		expect(headers.has("x-real-ip")).toBe(false);
		const unknown = forwardHeaders(new Headers({ "x-forwarded-for": "6.6.6.6" }), {
			...options,
			forwarded: { ...forwarded, clientIp: null },
		});
		expect(unknown.has("x-forwarded-for")).toBe(false);
	});

	it("removes the cookie header entirely when only Switchyard's cookie was there", () => {
		expect(withoutCookie("sy_uid=1", "sy_uid")).toBe("");
		expect(withoutCookie("sy_uidx=1; sy_uid=2", "sy_uid")).toBe("sy_uidx=1");
	});
});

describe("paths that would climb out of a backend's base path", () => {
	it.each([
		"/..",
		"/../admin",
		"/a/../../b",
		"/.",
		"/a/./b",
		"/%2e%2e/x",
		"/.%2E/x",
		"/%2e./x",
		"/%2e",
		"/a\\b",
		"/a%5cb",
		"/a%5C..",
		"/..;/admin",
		"/a/..;jsessionid=1/b",
		"/%2e%2e;x",
		"/p%2f..%2f..%2finternal",
		"/p%2F%2E%2E",
		"/%2f..",
	])("refuses %s", (path) => {
		expect(climbsOut(path)).toBe(true);
	});

	it.each([
		"/predict",
		"/v1/chat/completions",
		"/a..b",
		"/.well-known/x",
		"/%2e%2ex",
		"/a/%2Fb",
		"/v2/models/org%2Fmodel/infer",
		"/a%2f.well-known",
		"/a;b/c",
		"/x..;/y",
		"",
	])("forwards %s", (path) => {
		expect(climbsOut(path)).toBe(false);
	});
});

describe("upstream resolution", () => {
	const backend = (b: object) => DeploymentSpec.shape.champion.parse({ version: "v1", ...b });

	it("appends the rest of the path and the query to a base URL", () => {
		expect(
			resolveUpstream(
				backend({ url: "https://m.example/sentiment/v1/" }),
				{},
				{
					restPath: "/predict",
					search: "?x=1",
					origin: "https://edge",
				},
			),
		).toEqual({
			url: "https://m.example/sentiment/v1/predict?x=1",
		});
	});

	it("sends to a service binding by name, and reports a missing binding", () => {
		const fetcher = { fetch: () => Promise.resolve(new Response()) };
		const target = { restPath: "/p", search: "", origin: "https://edge" };
		const resolved = resolveUpstream(backend({ service: "MODEL" }), { MODEL: fetcher }, target);
		expect(resolved).toMatchObject({ url: "https://edge/p", fetcher });
		expect(resolveUpstream(backend({ service: "NOPE" }), {}, target)).toEqual({
			error: "service binding NOPE is not configured",
		});
	});
});

describe("signed request ids", () => {
	const keys = signingKeys({ SIGNING_KEY: "key" });
	const claims = {
		deployment: "demo-ab",
		assigned: "candidate" as const,
		fallback: true,
		diverted: false,
		pinned: false,
		failed: false,
		time: 1_764_000_000_123,
		unit: unitTag("visitor-1"),
	};

	it("round-trips the deployment, the assigned variant, its flags, the time and the unit's tag", async () => {
		const id = await signRequestId(keys, claims);
		expect(id).toMatch(
			/^v2\.demo-ab\.[0-9a-z]{6}\.bf\.[0-9a-z]+\.[0-9a-f]{8}\.[0-9a-f]{8}\.[A-Za-z0-9_-]{22}$/,
		);
		expect(await verifyRequestId(keys, id)).toEqual(claims);
		const pinned = { ...claims, assigned: "champion" as const, fallback: false, pinned: true };
		expect(await verifyRequestId(keys, await signRequestId(keys, pinned))).toEqual(pinned);
		const failed = { ...claims, failed: true };
		const failedId = await signRequestId(keys, failed);
		expect(failedId).toMatch(/\.bfx\./);
		expect(await verifyRequestId(keys, failedId)).toEqual(failed);
		// The flag is signed: an error's id cannot pass for an answer's.
		expect(await verifyRequestId(keys, failedId.replace(".bfx.", ".bf."))).toBeNull();
	});

	it("rejects a tampered id, another key's id and garbage", async () => {
		const id = await signRequestId(keys, claims);
		expect(await verifyRequestId(keys, id.replace(".bf.", ".b."))).toBeNull();
		expect(await verifyRequestId(keys, id.replace(".bf.", ".af."))).toBeNull();
		expect(await verifyRequestId(signingKeys({ SIGNING_KEY: "other-key" }), id)).toBeNull();
		expect(await verifyRequestId(keys, "v1.demo-ab.b.zz.0000.x")).toBeNull();
		expect(await verifyRequestId(keys, "")).toBeNull();
	});

	it("verifies ids of a rotated-out key while it is still listed, and not after", async () => {
		const old = await signRequestId(signingKeys({ SIGNING_KEY: "old" }), claims);
		expect(await verifyRequestId(signingKeys({ SIGNING_KEYS: "new, old" }), old)).toEqual(claims);
		expect(await verifyRequestId(signingKeys({ SIGNING_KEYS: "new" }), old)).toBeNull();
		const fresh = await signRequestId(
			signingKeys({ SIGNING_KEYS: "new,old", SIGNING_KEY: "old" }),
			claims,
		);
		expect(fresh.split(".")[2]).toBe(keyId("new"));
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
		const { requestTarget } = await import("../../src/routing/target");
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
	const id = "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";
	const keys = signingKeys({ SIGNING_KEY: "secret-key" });

	it("verifies cookies in the format hono's generateSignedCookie writes, and nothing else", async () => {
		const { generateSignedCookie } = await import("hono/cookie");
		const pair = (await generateSignedCookie("sy_uid", id, "secret-key", { path: "/" })).split(
			";",
		)[0] as string;
		expect(await verifiedUnitCookie(`theme=dark; ${pair}`, keys)).toEqual({
			id,
			keyId: keys.current.id,
		});
		expect(await verifiedUnitCookie(pair, signingKeys({ SIGNING_KEY: "another-key" }))).toBeNull();
		expect(await verifiedUnitCookie(pair.replace("6f1c", "7f1c"), keys)).toBeNull();
		expect(await verifiedUnitCookie("sy_uid=%%%", keys)).toBeNull();
		expect(await verifiedUnitCookie("sy_uid=abc.def", keys)).toBeNull();
		expect(await verifiedUnitCookie(null, keys)).toBeNull();
	});

	it("keeps the unit id through a key rotation, and says which key signed it", async () => {
		const before = (await unitCookie(id, keys, false)).split(";")[0] as string;
		const rotated = signingKeys({ SIGNING_KEYS: "next-key,secret-key" });
		expect(await verifiedUnitCookie(before, rotated)).toEqual({ id, keyId: keyId("secret-key") });
		const after = (await unitCookie(id, rotated, false)).split(";")[0] as string;
		expect(await verifiedUnitCookie(after, rotated)).toEqual({ id, keyId: keyId("next-key") });
		expect(await verifiedUnitCookie(before, signingKeys({ SIGNING_KEY: "next-key" }))).toBeNull();
	});
});
