/**
 * Hostile clients: nothing a client sends can count against a variant, reach
 * a secret, or aim traffic where it should not go. Each measured attack on
 * the first release is a regression test here.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { look } from "../helpers/controller";
import { deploy, ORIGIN, predict, uniqueName } from "../helpers/edge";
import { settled, totals, waitForRequests } from "../helpers/metrics";
import { TEST_BACKEND_KEY } from "../helpers/secrets";
import { CONDITION } from "../helpers/wait";

const echo = {
	champion: { version: "echo", service: "MODEL_ECHO" },
	candidate: { version: "echo", service: "MODEL_ECHO" },
};

async function raw(path: string, init: RequestInit = {}): Promise<Response> {
	return exports.default.fetch(`${ORIGIN}${path}`, { method: "POST", body: "{}", ...init });
}

describe("a client cannot aim traffic elsewhere", () => {
	it("answers a percent-encoded name with 404 and charges nobody (the measured abort)", async () => {
		const name = uniqueName("canary-enc");
		await deploy(name, 50, {
			strategy: "canary",
			canary: { steps: [50, 100], minRequests: 20, maxErrorRate: 0.1, bakeSeconds: 3600 },
		});
		const last = name.charCodeAt(name.length - 1).toString(16);
		const encoded = `${name.slice(0, -1)}%${last}`;
		for (let i = 0; i < 80; i++) {
			const res = await raw(`/v1/models/${encoded}/p`);
			expect(res.status).toBe(404);
			await res.arrayBuffer();
		}
		const served = await predict(name);
		await served.arrayBuffer();
		await waitForRequests(name, 1);
		// Nothing left in flight: the 404s' observations, had there been any, are stored by now.
		await settled(name);
		const t = await totals(name);
		expect(t.champion.requests + t.candidate.requests).toBe(1);
		expect(await look(name)).toMatchObject({ ok: true, state: { status: "running", weight: 50 } });
	});

	it("refuses an encoded backslash in the rest of the path (dot segments: see routing-unit)", async () => {
		const name = uniqueName("dots");
		await deploy(name, 0, echo);
		// A WHATWG client resolves dot segments itself; raw HTTP clients need not (unit-tested).
		for (const rest of ["/a/%5c../b", "/a%5C..%5Cb"]) {
			const res = await raw(`/v1/models/${name}${rest}`);
			expect(res.status).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: "invalid_path" } });
		}
		// A marker after them: once it is stored and nothing is left in flight, an observation of
		// the refused requests would be stored too. Only the marker may be counted.
		const marker = await raw(`/v1/models/${name}/marker`);
		expect(marker.status).toBe(200);
		await marker.arrayBuffer();
		await waitForRequests(name, 1);
		await settled(name);
		const t = await totals(name);
		expect(t.champion.requests + t.candidate.requests).toBe(1);
		expect(t.champion.clientFaults).toBe(0);
	});

	it("forwards the rest of the path and the query byte for byte", async () => {
		const name = uniqueName("bytes");
		await deploy(name, 0, echo);
		const res = await raw(`/v1/models/${name}/v1/chat%2Fcompletions;x=1/%C3%A9?q=%20a+b&q=2`);
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({
			path: "/v1/chat%2Fcompletions;x=1/%C3%A9",
			search: "?q=%20a+b&q=2",
		});
	});
});

describe("client faults are never model faults", () => {
	it("waits for a slow upload before calling the backend: no timeout charged", async () => {
		const name = uniqueName("slow-upload");
		await deploy(name, 100, { timeoutMs: 300, fallback: false });
		const encoder = new TextEncoder();
		const parts = ['{"text":', '"a great', ' day"', "}"];
		const body = new ReadableStream<Uint8Array>({
			async pull(controller) {
				const part = parts.shift();
				if (part === undefined) return controller.close();
				await new Promise((resolve) => setTimeout(resolve, 150));
				controller.enqueue(encoder.encode(part));
			},
		});
		const res = await raw(`/v1/models/${name}/predict`, {
			body,
			headers: { "content-type": "application/json" },
			// @ts-expect-error: undici-style streaming bodies need duplex; workerd accepts it.
			duplex: "half",
		});
		expect(res.status).toBe(200);
		expect(res.headers.get("x-model-variant")).toBe("candidate");
		await res.arrayBuffer();
		const t = await waitForRequests(name, 1);
		expect(t.candidate).toMatchObject({ requests: 1, timeouts: 0, errors5xx: 0 });
	});

	it("counts a 4xx answer as a client fault: no error, no fallback", async () => {
		const name = uniqueName("client-4xx");
		await deploy(name, 100);
		const res = await predict(name, { method: "GET" });
		expect(res.status).toBe(405);
		expect(res.headers.get("x-switchyard-fallback")).toBeNull();
		await res.arrayBuffer();
		const t = await waitForRequests(name, 1);
		expect(t.candidate).toMatchObject({ requests: 1, clientFaults: 1, errors5xx: 0, fallbacks: 0 });
	});

	it("passes a preflight and a HEAD through but counts neither: only predictions are measured", async () => {
		const name = uniqueName("no-count");
		await deploy(name, 100);
		for (const method of ["OPTIONS", "HEAD", "OPTIONS", "HEAD"]) {
			const res = await predict(name, { method });
			expect(res.headers.get("x-model-variant")).toBe("candidate");
			await res.arrayBuffer();
		}
		const counted = await predict(name);
		await counted.arrayBuffer();
		// Only the one POST is stored, though the four others were recorded (or not) before it.
		const t = await waitForRequests(name, 1);
		expect(t.candidate.requests + t.champion.requests).toBe(1);
	});

	it("counts a client that goes away as a client fault, not a network error or a timeout", async () => {
		const name = uniqueName("gone");
		// The gate holds the call until the edge's own timeout ends it. The client is gone long
		// before: locally nothing cancels the call when it goes (only its request.signal tells),
		// so releasing the gate instead raced the client's abort to the edge on a loaded machine.
		await deploy(name, 100, {
			candidate: { version: "v2", service: "MODEL_GATE" },
			timeoutMs: 3000,
		});
		const gate = (path: string) =>
			env.MODEL_GATE.fetch(`http://gate/__gate/${path}`, { method: "POST" }).then(
				(r) => r.json() as Promise<{ pending?: number }>,
			);
		const controller = new AbortController();
		const pending = exports.default
			.fetch(`${ORIGIN}/v1/models/${name}/predict`, {
				method: "POST",
				body: "{}",
				signal: controller.signal,
			})
			.catch((error: unknown) => error);
		await vi.waitFor(async () => expect((await gate("pending")).pending).toBe(1), CONDITION);
		controller.abort();
		await pending;
		try {
			const t = await waitForRequests(name, 1);
			expect(t.candidate).toMatchObject({
				requests: 1,
				networkErrors: 0,
				timeouts: 0,
				clientFaults: 1,
			});
		} finally {
			// The gate is shared by every test file: leave it empty.
			await gate("release");
		}
	});
});

describe("what reaches a backend, what reaches a client", () => {
	it("replaces the client's forwarding claims with the edge's own", async () => {
		const name = uniqueName("xff");
		await deploy(name, 0, echo);
		const res = await predict(name, {
			headers: {
				"cf-connecting-ip": "203.0.113.5",
				"x-forwarded-for": "6.6.6.6",
				forwarded: "for=6.6.6.6",
			},
		});
		const headers = ((await res.json()) as { headers: Record<string, string> }).headers;
		expect(headers["x-forwarded-for"]).toBe("203.0.113.5");
		expect(headers.forwarded).toBeUndefined();
		expect(headers["x-forwarded-proto"]).toBe("http");
	});

	it("sends a backend its credential from a worker secret, never the client's", async () => {
		const name = uniqueName("backend-auth");
		await deploy(name, 100, {
			...echo,
			candidate: { ...echo.candidate, auth: { secret: "BACKEND_KEY" } },
		});
		const res = await predict(name, { headers: { authorization: "Bearer client-token" } });
		const headers = ((await res.json()) as { headers: Record<string, string> }).headers;
		expect(headers.authorization).toBe(`Bearer ${TEST_BACKEND_KEY}`);
		// The champion has no auth: the client's header reaches it as sent.
		const other = uniqueName("backend-auth-champion");
		await deploy(other, 0, {
			...echo,
			candidate: { ...echo.candidate, auth: { secret: "BACKEND_KEY" } },
		});
		const plain = await predict(other, { headers: { authorization: "Bearer client-token" } });
		const seen = ((await plain.json()) as { headers: Record<string, string> }).headers;
		expect(seen.authorization).toBe("Bearer client-token");
	});

	it("charges a backend that refuses the worker's credential, never one refusing the client's", async () => {
		const name = uniqueName("backend-auth-refused");
		await deploy(name, 100, {
			candidate: { version: "v2", service: "MODEL_ECHO", auth: { secret: "BACKEND_KEY" } },
		});
		const refused = await predict(name, { headers: { "x-echo-status": "401" } });
		expect(refused.status).toBe(200);
		expect(refused.headers.get("x-model-variant")).toBe("champion");
		expect(refused.headers.get("x-switchyard-fallback")).toBe("1");
		await refused.arrayBuffer();
		const t = await waitForRequests(name, 1);
		expect(t.candidate).toMatchObject({ requests: 1, errors5xx: 1, clientFaults: 0 });
		// Without `auth` the credential is the client's: its 401 is the client's fault, passed through.
		const plain = uniqueName("backend-auth-client");
		await deploy(plain, 100, { candidate: { version: "v2", service: "MODEL_ECHO" } });
		const own = await predict(plain, { headers: { "x-echo-status": "401" } });
		expect(own.status).toBe(401);
		expect(own.headers.get("x-model-variant")).toBe("candidate");
		await own.arrayBuffer();
		const u = await waitForRequests(plain, 1);
		expect(u.candidate).toMatchObject({ requests: 1, errors5xx: 0, clientFaults: 1 });
	});

	it("holds a canary whose candidate answers 4xx to everything: the sample ratio shows it, nothing steps", async () => {
		const name = uniqueName("candidate-4xx");
		await deploy(name, 50, {
			strategy: "canary",
			candidate: { version: "v2", service: "MODEL_ECHO" },
			canary: { steps: [50, 100], minRequests: 20, bakeSeconds: 0 },
			assignment: { unit: "header", header: "x-user-id" },
		});
		// The champion ignores the header; the candidate answers 404 to every request. Twenty users at
		// a time: the order does not matter here, and it keeps the test short on a slow machine.
		for (let first = 0; first < 200; first += 20) {
			await Promise.all(
				Array.from({ length: 20 }, async (_, i) => {
					const res = await predict(name, {
						headers: { "x-user-id": `u${first + i}`, "x-echo-status": "404" },
					});
					await res.arrayBuffer();
				}),
			);
		}
		// All 200 stored, and nothing left in flight, before the look reads them.
		await waitForRequests(name, 200);
		await settled(name);
		const t = await totals(name);
		expect(t.candidate.clientFaults).toBe(t.candidate.requests);
		expect(t.candidate.requests).toBeGreaterThan(50);
		const decision = await look(name);
		expect(decision).toMatchObject({ ok: true, state: { status: "running", weight: 50 } });
		expect(decision).toMatchObject({ decision: { kind: "hold", code: "srm" } });
		expect(JSON.stringify(decision)).toMatch(
			/answered 100\.0 % of its requests with a client error/,
		);
	});

	it("answers a backend whose secret is missing as that variant's failure", async () => {
		const name = uniqueName("backend-auth-missing");
		await deploy(name, 100, {
			...echo,
			fallback: false,
			candidate: { ...echo.candidate, auth: { secret: "NO_SUCH_SECRET", header: "x-api-key" } },
		});
		const res = await predict(name);
		expect(res.status).toBe(502);
		await res.arrayBuffer();
		const t = await waitForRequests(name, 1);
		expect(t.candidate.requests - t.candidate.clientFaults).toBe(1);
		expect(t.candidate.clientFaults).toBe(0);
	});

	it("answers a backend failure with a code, a message and the request id, nothing internal", async () => {
		const name = uniqueName("opaque");
		await deploy(name, 0, { champion: { version: "v1", url: "http://127.0.0.1:1/secret-path" } });
		const res = await predict(name);
		expect(res.status).toBe(502);
		const text = await res.text();
		expect(JSON.parse(text)).toEqual({
			error: {
				code: "backend_unavailable",
				message: "the model could not be reached",
				requestId: res.headers.get("x-request-id"),
			},
		});
		expect(text).not.toMatch(/127\\.0\\.0\\.1|secret-path|refused/i);
	});
});
