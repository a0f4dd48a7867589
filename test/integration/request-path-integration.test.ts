import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { updateIndex } from "../../src/config/kv";
import { assignVariant } from "../../src/routing/assign";
import { BREAKER_MIN_REQUESTS } from "../../src/routing/breaker";
import { adminJson } from "../helpers/admin";
import {
	ADMIN_AUTH,
	deploy,
	predict,
	putSpec,
	putState,
	spec,
	uniqueName,
	unitCookieOf,
	Visitor,
} from "../helpers/edge";
import { totals, waitForRequests } from "../helpers/metrics";
import { CONDITION } from "../helpers/wait";

async function json(response: Response): Promise<Record<string, unknown>> {
	return (await response.json()) as Record<string, unknown>;
}

describe("sticky assignment", () => {
	it("keeps a visitor with a cookie on one variant across requests", async () => {
		const name = uniqueName("sticky");
		await deploy(name, 50);
		for (let v = 0; v < 10; v++) {
			const visitor = new Visitor();
			const first = await visitor.variant(name);
			for (let i = 0; i < 5; i++) expect(await visitor.variant(name)).toBe(first);
		}
	});

	it("splits distinct units by their hash: each gets the variant of its bucket, about 50/50", async () => {
		const name = uniqueName("split");
		await deploy(name, 50, { assignment: { unit: "header", header: "x-user-id" } });
		const units = Array.from({ length: 300 }, (_, i) => `user-${i}`);
		const served = await Promise.all(
			units.map(async (unit) => {
				const res = await predict(name, { headers: { "x-user-id": unit } });
				await res.arrayBuffer();
				return res.headers.get("x-model-variant");
			}),
		);
		expect(served).toEqual(units.map((unit) => assignVariant(name, unit, 5000)));
		const candidate = served.filter((v) => v === "candidate").length;
		// Deterministic units: this split is fixed, and well inside 3σ of 150.
		expect(Math.abs(candidate - 150)).toBeLessThan(3 * Math.sqrt(300 / 4));
	});

	it("keeps every visitor that was on the candidate at 5 % on it at 25 % (monotonic ramp)", async () => {
		const name = uniqueName("ramp");
		await deploy(name, 5);
		const visitors = Array.from({ length: 400 }, () => new Visitor());
		const before = await Promise.all(visitors.map((v) => v.variant(name)));
		const early = visitors.filter((_, i) => before[i] === "candidate");
		expect(early.length).toBeGreaterThan(0);
		await putState(name, { status: "running", weight: 25 });
		const after = await Promise.all(visitors.map((v) => v.variant(name)));
		expect(early.every((v) => after[visitors.indexOf(v)] === "candidate")).toBe(true);
		expect(after.filter((x) => x === "candidate").length).toBeGreaterThan(early.length);
	});

	it("sets an HttpOnly, SameSite=Lax, long-lived cookie on the first visit only (not Secure over http)", async () => {
		const name = uniqueName("cookie");
		await deploy(name, 50);
		const visitor = new Visitor();
		const first = await visitor.predict(name);
		const setCookie = first.headers.getSetCookie().find((c) => c.startsWith("sy_uid="));
		expect(setCookie).toMatch(/HttpOnly/);
		expect(setCookie).toMatch(/SameSite=Lax/);
		expect(setCookie).toMatch(/Max-Age=34560000/);
		expect(setCookie).not.toMatch(/Secure/);
		const second = await visitor.predict(name);
		expect(unitCookieOf(second)).toBeUndefined();
	});

	it("marks the cookie Secure over https", async () => {
		const name = uniqueName("secure");
		await deploy(name, 50);
		const { exports } = await import("cloudflare:workers");
		const res = await exports.default.fetch(`https://switchyard.test/v1/models/${name}/predict`, {
			method: "POST",
			body: JSON.stringify({ text: "hi" }),
		});
		expect(res.headers.getSetCookie().find((c) => c.startsWith("sy_uid="))).toMatch(/Secure/);
	});

	it("treats a forged cookie as a new visitor, not an error", async () => {
		const name = uniqueName("forged");
		await deploy(name, 50);
		const visitor = new Visitor();
		await visitor.predict(name);
		const [cookieName, value] = (visitor.cookie ?? "").split("=") as [string, string];
		// The signed value is "<key id>:<unit id>" (URI-encoded): change the unit id's first digit.
		const forged = `${cookieName}=${value.replace(/%3A([0-9a-f])/, (_, c) => `%3A${c === "0" ? "1" : "0"}`)}`;
		expect(forged).not.toBe(visitor.cookie);
		const res = await predict(name, { headers: { cookie: forged } });
		expect(res.status).toBe(200);
		const fresh = unitCookieOf(res);
		expect(fresh).toBeDefined();
		expect(fresh).not.toBe(forged);
		const garbage = await predict(name, { headers: { cookie: "sy_uid=%%%garbage" } });
		expect(garbage.status).toBe(200);
		expect(unitCookieOf(garbage)).toBeDefined();
	});

	it("assigns API clients by a configured header, stickily", async () => {
		const name = uniqueName("header");
		await deploy(name, 50, { assignment: { unit: "header", header: "x-user-id" } });
		const seen = new Map<string, string | null>();
		for (let i = 0; i < 40; i++) {
			const user = `user-${i % 8}`;
			const res = await predict(name, { headers: { "x-user-id": user } });
			await res.arrayBuffer();
			expect(unitCookieOf(res)).toBeUndefined();
			const variant = res.headers.get("x-model-variant");
			if (seen.has(user)) expect(variant).toBe(seen.get(user));
			seen.set(user, variant);
		}
		expect(new Set(seen.values()).size).toBe(2);
	});
});

describe("response headers", () => {
	it("names the variant, the version and a signed request id", async () => {
		const name = uniqueName("headers");
		await deploy(name, 100);
		const res = await predict(name);
		expect(res.headers.get("x-model-variant")).toBe("candidate");
		expect(res.headers.get("x-model-version")).toBe("v2");
		expect(res.headers.get("x-request-id")).toMatch(
			new RegExp(`^v2\\.${name}\\.[0-9a-z]{6}\\.b\\.`),
		);
		expect(await json(res)).toMatchObject({ version: "v2" });
	});
});

describe("QA override", () => {
	const qa = { "x-switchyard-token": ADMIN_AUTH.authorization.slice("Bearer ".length) };

	it("pins a request to a variant with the admin token in its own header", async () => {
		const name = uniqueName("qa");
		await deploy(name, 0);
		const res = await predict(name, { headers: { "x-switchyard-variant": "candidate", ...qa } });
		expect(res.headers.get("x-model-variant")).toBe("candidate");
	});

	it("ignores the header without a token, with a wrong one, in Authorization, or in another case", async () => {
		const name = uniqueName("qa-denied");
		await deploy(name, 0);
		const attempts: Record<string, string>[] = [
			{ "x-switchyard-variant": "candidate" },
			{ "x-switchyard-variant": "candidate", "x-switchyard-token": "wrong" },
			{ "x-switchyard-variant": "candidate", ...ADMIN_AUTH },
			{ "x-switchyard-variant": "Candidate", ...qa },
		];
		for (const headers of attempts) {
			const res = await predict(name, { headers });
			expect(res.headers.get("x-model-variant")).toBe("champion");
		}
	});

	it("never passes the admin token on to the model, in whatever header it comes", async () => {
		const name = uniqueName("qa-strip");
		await deploy(name, 0, {
			champion: { version: "echo", service: "MODEL_ECHO" },
			candidate: { version: "echo", service: "MODEL_ECHO" },
		});
		const token = qa["x-switchyard-token"];
		const attempts: Record<string, string>[] = [
			{ "x-switchyard-variant": "candidate", ...qa },
			{ "x-switchyard-variant": "Candidate", ...ADMIN_AUTH },
			{ "x-api-key": token, cookie: `t=${token}` },
		];
		for (const headers of attempts) {
			const res = await predict(name, { headers });
			const echoed = await json(res);
			expect(JSON.stringify(echoed)).not.toContain(token);
			const forwarded = echoed.headers as Record<string, string>;
			expect(forwarded["x-switchyard-variant"]).toBeUndefined();
			expect(forwarded["x-switchyard-token"]).toBeUndefined();
		}
	});
});

describe("forwarding", () => {
	const echo = {
		champion: { version: "echo", service: "MODEL_ECHO" },
		candidate: { version: "echo", service: "MODEL_ECHO" },
	};

	it("sends method, rest of the path, query, body and end-to-end headers; keeps Switchyard's cookie and hop-by-hop headers at the edge", async () => {
		const name = uniqueName("echo");
		await deploy(name, 0, echo);
		const res = await predict(name, {
			method: "PUT",
			path: "/v2/classify?lang=en&x=1",
			body: "payload-bytes",
			headers: {
				cookie: "theme=dark; sy_uid=abc.def",
				"x-api-key": "k",
				connection: "x-hop",
				"x-hop": "1",
				"keep-alive": "5",
			},
		});
		expect(res.status).toBe(200);
		const echoed = await json(res);
		expect(echoed).toMatchObject({
			method: "PUT",
			path: "/v2/classify",
			search: "?lang=en&x=1",
			body: "payload-bytes",
		});
		const headers = echoed.headers as Record<string, string>;
		expect(headers["x-api-key"]).toBe("k");
		expect(headers.cookie).toBe("theme=dark");
		expect(headers["x-hop"]).toBeUndefined();
		expect(headers["keep-alive"]).toBeUndefined();
		// The backend's own headers and cookies reach the client.
		expect(res.headers.get("x-echo")).toBe("1");
		expect(res.headers.getSetCookie()).toEqual(expect.arrayContaining(["backend=1; Path=/"]));
		// But not Switchyard's: no backend can say a fallback happened.
		expect(res.headers.get("x-switchyard-fallback")).toBeNull();
		expect(res.headers.get("x-switchyard-anything")).toBeNull();
	});

	it("answers 502 with the envelope when a service binding is missing", async () => {
		const name = uniqueName("nobinding");
		await deploy(name, 0, { champion: { version: "v1", service: "NOT_BOUND" } });
		const res = await predict(name);
		expect(res.status).toBe(502);
		const body = await json(res);
		// Which binding is missing is for the logs, not for the client; the request id ties them.
		expect(body).toEqual({
			error: {
				code: "backend_unavailable",
				message: "the model could not be reached",
				requestId: res.headers.get("x-request-id"),
			},
		});
		expect(JSON.stringify(body)).not.toContain("NOT_BOUND");
		expect(res.headers.get("x-model-variant")).toBe("champion");
	});
});

describe("candidate fallback", () => {
	it("serves the champion when the candidate answers 5xx, and says so", async () => {
		const name = uniqueName("fb-5xx");
		await deploy(name, 100, { candidate: { version: "v2", service: "MODEL_BROKEN" } });
		const res = await predict(name);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-model-variant")).toBe("champion");
		expect(res.headers.get("x-model-version")).toBe("v1");
		expect(res.headers.get("x-switchyard-fallback")).toBe("1");
		expect(await json(res)).toMatchObject({ version: "v1" });
	});

	it("serves the champion when the candidate times out", async () => {
		const name = uniqueName("fb-timeout");
		await deploy(name, 100, {
			candidate: { version: "v2", service: "MODEL_SLOW" },
			timeoutMs: 100,
		});
		const res = await predict(name);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-switchyard-fallback")).toBe("1");
		expect(res.headers.get("x-model-variant")).toBe("champion");
	});

	it("serves the champion when the candidate is unreachable", async () => {
		const name = uniqueName("fb-network");
		await deploy(name, 100, { candidate: { version: "v2", url: "http://127.0.0.1:1/model" } });
		const res = await predict(name);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-switchyard-fallback")).toBe("1");
	});

	it("passes the candidate's 5xx through when fallback is off", async () => {
		const name = uniqueName("fb-off");
		await deploy(name, 100, {
			candidate: { version: "v2", service: "MODEL_BROKEN" },
			fallback: false,
		});
		const res = await predict(name);
		expect(res.status).toBe(500);
		expect(res.headers.get("x-model-variant")).toBe("candidate");
		expect(res.headers.get("x-switchyard-fallback")).toBeNull();
	});

	it("refuses bodies above maxBodyBytes with 413, a client fault charged to no variant", async () => {
		const name = uniqueName("big-body");
		await deploy(name, 100, {
			candidate: { version: "v2", service: "MODEL_BROKEN" },
			maxBodyBytes: 16,
		});
		const res = await predict(name, { text: "a body longer than sixteen bytes" });
		expect(res.status).toBe(413);
		expect(await json(res)).toMatchObject({ error: { code: "payload_too_large" } });
		const t = await waitForRequests(name, 1);
		expect(t.candidate).toMatchObject({ requests: 1, clientFaults: 1, errors5xx: 0, fallbacks: 0 });
	});

	it("answers 504 with the envelope when the champion times out", async () => {
		const name = uniqueName("champion-timeout");
		await deploy(name, 0, {
			champion: { version: "v1-slow", service: "MODEL_SLOW" },
			timeoutMs: 50,
		});
		const res = await predict(name);
		expect(res.status).toBe(504);
		expect(await json(res)).toMatchObject({ error: { code: "backend_timeout" } });
	});
});

describe("shadow mode", () => {
	it("answers from the champion only, even when the candidate fails", async () => {
		const name = uniqueName("shadow-broken");
		await deploy(
			name,
			0,
			{ strategy: "shadow", candidate: { version: "v2", service: "MODEL_BROKEN" } },
			"shadowing",
		);
		for (let i = 0; i < 5; i++) {
			const res = await predict(name, { text: "not good" });
			expect(res.status).toBe(200);
			expect(res.headers.get("x-model-variant")).toBe("champion");
			expect(await json(res)).toMatchObject({ version: "v1", label: "positive" });
		}
	});

	it("does not wait for the candidate: the champion's answer arrives while the copy is provably held", async () => {
		const name = uniqueName("shadow-held");
		// The gate holds every copy until released: a proxy that awaited the shadow would never answer.
		await deploy(
			name,
			0,
			{
				strategy: "shadow",
				candidate: { version: "v2", service: "MODEL_GATE" },
				timeoutMs: 30_000,
			},
			"shadowing",
		);
		const gate = (path: string) =>
			env.MODEL_GATE.fetch(`http://gate/__gate/${path}`, { method: "POST" }).then(
				(r) => r.json() as Promise<{ pending?: number; released?: number }>,
			);
		const res = await predict(name);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-model-variant")).toBe("champion");
		await res.arrayBuffer();
		await vi.waitFor(async () => expect((await gate("pending")).pending).toBe(1), CONDITION);
		expect((await totals(name)).shadow.requests).toBe(0);
		expect((await gate("release")).released).toBe(1);
		await waitForRequests(name, 1, ["shadow"]);
	});
});

describe("the candidate's circuit breaker", () => {
	it("stops sending units to a candidate that fails every request, before any cron run", async () => {
		const name = uniqueName("breaker");
		await deploy(name, 50, {
			candidate: { version: "v2-broken", service: "MODEL_BROKEN" },
			assignment: { unit: "header", header: "x-user-id" },
		});
		const units = Array.from({ length: 200 }, (_, i) => `unit-${i}`);
		const assigned = units.filter((u) => assignVariant(name, u, 5000) === "candidate").length;
		const fallbacks: (string | null)[] = [];
		for (const unit of units) {
			const res = await predict(name, { headers: { "x-user-id": unit } });
			expect(res.status).toBe(200);
			expect(res.headers.get("x-model-variant")).toBe("champion");
			fallbacks.push(res.headers.get("x-switchyard-fallback"));
			await res.arrayBuffer();
		}
		// The candidate was called until the breaker opened, never after.
		expect(fallbacks.filter((f) => f === "1")).toHaveLength(BREAKER_MIN_REQUESTS);
		expect(fallbacks.filter((f) => f === "breaker")).toHaveLength(assigned - BREAKER_MIN_REQUESTS);
		const last = fallbacks.lastIndexOf("1");
		expect(fallbacks.slice(last + 1)).not.toContain("1");
		const t = await waitForRequests(name, units.length);
		expect(t.candidate).toMatchObject({
			requests: assigned,
			errors5xx: BREAKER_MIN_REQUESTS,
			diverted: assigned - BREAKER_MIN_REQUESTS,
		});
		const counters = (
			await adminJson<{ breaker: { trips: number; diverted: number } }>("GET", "/isolate")
		).body;
		expect(counters.breaker.trips).toBeGreaterThan(0);
		expect(counters.breaker.diverted).toBeGreaterThanOrEqual(assigned - BREAKER_MIN_REQUESTS);
	});

	it("closes again when the isolate's config changes", async () => {
		const name = uniqueName("breaker-reset");
		await deploy(name, 100, { candidate: { version: "v2-broken", service: "MODEL_BROKEN" } });
		for (let i = 0; i < BREAKER_MIN_REQUESTS; i++) await (await predict(name)).arrayBuffer();
		const open = await predict(name);
		expect(open.headers.get("x-switchyard-fallback")).toBe("breaker");
		await open.arrayBuffer();
		await putSpec(spec(name, { candidate: { version: "v2", service: "MODEL_V2" } }));
		const fixed = await predict(name);
		expect(fixed.headers.get("x-model-variant")).toBe("candidate");
		await fixed.arrayBuffer();
	});
});

describe("configuration errors", () => {
	it("answers 404 deployment_not_found for an unknown deployment", async () => {
		const res = await predict("does-not-exist");
		expect(res.status).toBe(404);
		expect(await json(res)).toEqual({
			error: {
				code: "deployment_not_found",
				message: 'no deployment named "does-not-exist"',
				requestId: res.headers.get("x-request-id"),
			},
		});
	});

	it("answers 503 deployment_unavailable when the spec was never valid", async () => {
		const name = uniqueName("never-valid");
		await env.CONFIG.put(`deployment:${name}`, JSON.stringify({ name, strategy: "canary" }));
		await updateIndex(env.CONFIG, name, true);
		const res = await predict(name);
		expect(res.status).toBe(503);
		const body = await json(res);
		expect(body).toMatchObject({ error: { code: "deployment_unavailable" } });
		// The spec's issues are for operators (admin API, logs): nothing about the config leaks.
		expect(JSON.stringify(body)).not.toMatch(/champion|candidate|details/);
	});

	it("keeps serving with the last good spec when KV gets bad JSON", async () => {
		const name = uniqueName("last-good");
		await deploy(name, 100);
		expect((await predict(name)).headers.get("x-model-version")).toBe("v2");
		await env.CONFIG.put(`deployment:${name}`, "{ this is not json");
		const res = await predict(name);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-model-version")).toBe("v2");
	});

	it("keeps the last good state when the state turns invalid, and never blocks the champion", async () => {
		const name = uniqueName("bad-state");
		await deploy(name, 100);
		expect((await predict(name)).headers.get("x-model-variant")).toBe("candidate");
		await env.CONFIG.put(`state:${name}`, JSON.stringify({ status: "exploded", weight: 7 }));
		expect((await predict(name)).headers.get("x-model-variant")).toBe("candidate");

		const fresh = uniqueName("bad-state-fresh");
		await putSpec(spec(fresh));
		await env.CONFIG.put(`state:${fresh}`, "garbage");
		const res = await predict(fresh);
		expect(res.status).toBe(200);
		expect(res.headers.get("x-model-variant")).toBe("champion");
	});

	it("serves the champion alone before a rollout starts (no state yet)", async () => {
		const name = uniqueName("pending");
		await putSpec(spec(name));
		const variants = await Promise.all(
			Array.from({ length: 20 }, () => new Visitor().variant(name)),
		);
		expect(new Set(variants)).toEqual(new Set(["champion"]));
	});

	it("serves the champion alone once aborted, whatever the weight says", async () => {
		const name = uniqueName("aborted");
		await deploy(name, 80, {}, "aborted");
		const variants = await Promise.all(
			Array.from({ length: 20 }, () => new Visitor().variant(name)),
		);
		expect(new Set(variants)).toEqual(new Set(["champion"]));
	});

	it("answers unknown routes with the JSON envelope", async () => {
		const { exports } = await import("cloudflare:workers");
		const res = await exports.default.fetch("http://switchyard.test/nope");
		expect(res.status).toBe(404);
		expect(await json(res)).toMatchObject({ error: { code: "not_found" } });
	});
});
