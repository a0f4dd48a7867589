/**
 * The backend adapters' conformance suite: every kind in the registry
 * (src/backends/) runs the same cases, through the same path the request
 * path takes (resolveUpstream, then callBackend), against a real backend of
 * its kind: a loopback HTTP server for `url` (test/setup/http-backend.ts), a
 * service-bound worker for `service` (test/workers/conformance.ts; both
 * serve the same handler), the Workers AI stand-in for `ai`
 * (test/workers/ai-stub.ts). A kind is done when its fixture below passes
 * every case; a case that cannot apply to a kind says why in its title.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { callBackend } from "../../src/backends/call";
import { isVariantFault, type Outcome } from "../../src/backends/outcome";
import { ADAPTERS, adapterOf, readsUsage, resolveUpstream } from "../../src/backends/registry";
import type { ForwardInit, Upstream } from "../../src/backends/types";
import { Backend, type BackendKind } from "../../src/config/spec";
import { TEST_BACKEND_KEY } from "../helpers/secrets";

/** The header timeout of a call to a backend that holds its answer: only the timeout ends it. */
const TIMEOUT_MS = 250;
/** The header timeout of every other call: an answer never waits on the machine's speed. */
const ANSWER_TIMEOUT_MS = 30_000;
const TARGET = { origin: "https://edge.test", restPath: "/v1/predict/a%2Fb", search: "?x=1&y=%20" };
const CHAT = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });

/** A request to a backend: the backend's spec, and what the client sent. */
interface Ask {
	backend: Record<string, unknown>;
	headers?: Record<string, string>;
	body?: string;
}

interface KindFixture {
	kind: BackendKind;
	/** A healthy backend of the kind (a version label is added). */
	backend: (extra?: Record<string, unknown>) => Record<string, unknown>;
	/** A request it answers, and what its answer shows. */
	success: Ask & { status: number; header: [string, string]; shows: RegExp };
	/** Reads the path and query the backend received from its answer, or why the kind has none. */
	seen: ((answer: string) => { path: string; search: string }) | string;
	/** Asks that make it answer 5xx and 4xx, with the status each gets. */
	serverError: Ask & { status: number };
	clientError: Ask & { status: number };
	/** An ask whose answer's headers never come; `release` frees what the backend holds. */
	hang: Ask & { release?: () => Promise<void> };
	/** An ask that fails inside the backend, and the outcome the kind gives it. */
	crash: Ask & { outcome: Outcome; status: number };
	/** How the backend's echo shows the headers it got, or why the kind takes no credential. */
	credential: ((answer: string) => Record<string, string>) | string;
	/** Backends (and the env they resolve in) missing a binding or a secret, with the error. */
	missing: { backend: Record<string, unknown>; env: object; error: RegExp }[];
	/** Whether a backend of the kind without a price is read for token usage. */
	readsUsage: boolean;
}

function echoed(answer: string): { path: string; search: string; headers: Record<string, string> } {
	return JSON.parse(answer) as { path: string; search: string; headers: Record<string, string> };
}

/** `url` and `service` share the stub's protocol: x-stub-status, x-stub-hang, x-stub-throw. */
function httpFixture(
	kind: "url" | "service",
	where: Record<string, unknown>,
	basePath: string,
	missing: KindFixture["missing"],
): KindFixture {
	const backend = (extra: Record<string, unknown> = {}) => ({ ...where, ...extra });
	return {
		kind,
		backend,
		success: {
			backend: backend(),
			headers: { "x-stub-status": "201" },
			body: '{"text":"hi"}',
			status: 201,
			header: ["x-stub", "conformance"],
			shows: /"method":"POST".*"body":"\{\\"text\\":\\"hi\\"\}"/,
		},
		seen: (answer) => {
			const { path, search } = echoed(answer);
			return { path: path.slice(basePath.length), search };
		},
		serverError: { backend: backend(), headers: { "x-stub-status": "503" }, status: 503 },
		clientError: { backend: backend(), headers: { "x-stub-status": "422" }, status: 422 },
		hang: { backend: backend(), headers: { "x-stub-hang": "1" } },
		crash: { backend: backend(), headers: { "x-stub-throw": "1" }, outcome: "network", status: 0 },
		credential: (answer) => echoed(answer).headers,
		missing: [
			...missing,
			{
				backend: backend({ auth: { secret: "UNSET_KEY" } }),
				env,
				error: /^secret UNSET_KEY is not configured$/,
			},
		],
		readsUsage: false,
	};
}

const aiModel = (model: string) => ({ ai: { model } });

const FIXTURES: KindFixture[] = [
	httpFixture("url", { url: `${inject("httpBackend")}/models/m1/` }, "/models/m1", []),
	httpFixture("service", { service: "MODEL_CONFORMANCE" }, "", [
		{
			backend: { service: "MODEL_NOWHERE" },
			env,
			error: /^service binding MODEL_NOWHERE is not configured$/,
		},
	]),
	{
		kind: "ai",
		backend: (extra = {}) => ({ ...aiModel("@cf/test/model"), ...extra }),
		success: {
			backend: aiModel("@cf/test/model"),
			body: CHAT,
			status: 200,
			header: ["content-type", "application/json"],
			shows: /"object":"chat\.completion".*"content":"@cf\/test\/model via no-gateway: hello/,
		},
		seen: "a Workers AI model has no path or query: the binding is called with the body alone",
		serverError: { backend: aiModel("@cf/missing/model"), body: CHAT, status: 502 },
		clientError: {
			backend: aiModel("@cf/test/model"),
			body: JSON.stringify({ messages: [] }),
			status: 400,
		},
		hang: {
			backend: aiModel("@cf/test/hang"),
			body: CHAT,
			release: async () => {
				await (env as unknown as { AI: { run(model: string): Promise<unknown> } }).AI.run(
					"@cf/test/release",
				);
			},
		},
		// The binding's failures come back as answers: without a Workers AI code, a 502 the variant
		// answers for (there is no connection of ours to lose).
		crash: { backend: aiModel("@cf/test/crash"), body: CHAT, outcome: "http_5xx", status: 502 },
		credential: "a Workers AI backend takes no auth: the binding is the credential",
		missing: [
			{
				backend: aiModel("@cf/test/model"),
				env: { ...env, AI: undefined },
				error: /^the AI binding is not configured$/,
			},
		],
		readsUsage: true,
	},
];

function backendOf(fields: Record<string, unknown>): Backend {
	return Backend.parse({ version: "v1", ...fields });
}

function upstreamOf(fields: Record<string, unknown>, bindings: object = env): Upstream {
	const resolved = resolveUpstream(backendOf(fields), bindings, TARGET);
	if ("error" in resolved) throw new Error(resolved.error);
	return resolved;
}

function initOf(ask: Ask): ForwardInit {
	return {
		method: "POST",
		headers: new Headers({ "content-type": "application/json", ...ask.headers }),
		body: new TextEncoder().encode(ask.body ?? "{}").buffer as ArrayBuffer,
	};
}

function call(ask: Ask, timeoutMs = ANSWER_TIMEOUT_MS) {
	return callBackend(upstreamOf(ask.backend), initOf(ask), timeoutMs);
}

/** The case's title, or why it does not apply to the kind. */
function title(name: string, applies: unknown): string {
	return typeof applies === "string" ? `${name} (not for this kind: ${applies})` : name;
}

it("has a fixture for every kind in the registry", () => {
	expect(FIXTURES.map((f) => f.kind).sort()).toEqual(Object.keys(ADAPTERS).sort());
});

describe.each(FIXTURES)("the $kind backend", (fixture) => {
	it("is picked by its field and resolves to an upstream", () => {
		const backend = backendOf(fixture.backend());
		expect(adapterOf(backend).kind).toBe(fixture.kind);
		expect("error" in resolveUpstream(backend, env, TARGET)).toBe(false);
	});

	it("passes the answer through as it came: status, headers and body", async () => {
		const { success } = fixture;
		const result = await call(success);
		expect(result).toMatchObject({ outcome: "ok", status: success.status });
		expect(result.response?.status).toBe(success.status);
		expect(result.response?.headers.get(success.header[0])).toContain(success.header[1]);
		expect(await result.response?.text()).toMatch(success.shows);
		expect(result.latencyMs).toBeGreaterThanOrEqual(0);
	});

	it.skipIf(typeof fixture.seen === "string")(
		title("appends the rest of the path and the query, byte for byte", fixture.seen),
		async () => {
			if (typeof fixture.seen === "string") return;
			const result = await call({ backend: fixture.backend() });
			expect(fixture.seen(await (result.response?.text() ?? ""))).toEqual({
				path: TARGET.restPath,
				search: TARGET.search,
			});
		},
	);

	it("classifies a 5xx answer as the variant's fault and a 4xx as the client's, passing both through", async () => {
		const server = await call(fixture.serverError);
		expect(server).toMatchObject({ outcome: "http_5xx", status: fixture.serverError.status });
		expect(isVariantFault(server.outcome)).toBe(true);
		await server.response?.body?.cancel();
		const client = await call(fixture.clientError);
		expect(client).toMatchObject({ outcome: "client", status: fixture.clientError.status });
		expect(isVariantFault(client.outcome)).toBe(false);
		await client.response?.body?.cancel();
	});

	it("times out a backend whose headers do not come within timeoutMs", async () => {
		try {
			const result = await call(fixture.hang, TIMEOUT_MS);
			expect(result).toMatchObject({ outcome: "timeout", status: 0 });
			expect(result.response).toBeUndefined();
			expect(result.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
			expect(result.error).toBe(`no complete answer within ${TIMEOUT_MS} ms`);
		} finally {
			await fixture.hang.release?.();
		}
	});

	it("charges a failure inside the backend to the variant", async () => {
		const result = await call(fixture.crash);
		expect(result).toMatchObject({ outcome: fixture.crash.outcome, status: fixture.crash.status });
		expect(isVariantFault(result.outcome)).toBe(true);
		await result.response?.body?.cancel();
	});

	it.skipIf(typeof fixture.credential === "string")(
		title(
			"sends the credential from a worker secret in place of the client's, and owns its refusal",
			fixture.credential,
		),
		async () => {
			if (typeof fixture.credential === "string") return;
			const client = { authorization: "Bearer client-token", "x-api-key": "client-key" };
			const bearer = { ...fixture.success, headers: client };
			bearer.backend = fixture.backend({ auth: { secret: "BACKEND_KEY" } });
			const init = initOf(bearer);
			const sent = await callBackend(upstreamOf(bearer.backend), init, ANSWER_TIMEOUT_MS);
			const seen = fixture.credential(await (sent.response?.text() ?? ""));
			expect(seen.authorization).toBe(`Bearer ${TEST_BACKEND_KEY}`);
			expect(seen["x-api-key"]).toBe("client-key");
			// The client's headers are left as they were: a fallback or a shadow copy resends them.
			expect(init.headers.get("authorization")).toBe("Bearer client-token");

			const keyed = fixture.backend({ auth: { secret: "BACKEND_KEY", header: "X-Api-Key" } });
			const raw = await call({ backend: keyed, headers: client });
			const seenRaw = fixture.credential(await (raw.response?.text() ?? ""));
			expect(seenRaw["x-api-key"]).toBe(TEST_BACKEND_KEY);
			expect(seenRaw.authorization).toBe("Bearer client-token");

			// A refusal of the worker's own credential is the backend's fault; of the client's, the client's.
			const refused = { headers: { "x-stub-status": "401" } };
			const own = await call({ ...refused, backend: bearer.backend });
			expect(own).toMatchObject({ outcome: "http_5xx", status: 401 });
			const theirs = await call({ ...refused, backend: fixture.backend() });
			expect(theirs).toMatchObject({ outcome: "client", status: 401 });
			await Promise.all([own.response?.body?.cancel(), theirs.response?.body?.cancel()]);
		},
	);

	it("reports a missing binding or secret as a configuration error, before any call", () => {
		expect(fixture.missing.length).toBeGreaterThan(0);
		for (const { backend, env: bindings, error } of fixture.missing) {
			const resolved = resolveUpstream(backendOf(backend), bindings, TARGET);
			expect("error" in resolved && resolved.error).toMatch(error);
		}
	});

	it("says whether its answers are read for token usage, and always when priced", () => {
		expect(readsUsage(backendOf(fixture.backend()))).toBe(fixture.readsUsage);
		const priced = backendOf(fixture.backend({ price: { inputPer1M: 1 } }));
		expect(readsUsage(priced)).toBe(true);
	});
});

describe("the url backend on a network", () => {
	it("counts an address nobody answers on as a network failure", async () => {
		const result = await call({ backend: { url: "http://127.0.0.1:1/model" } });
		expect(result).toMatchObject({ outcome: "network", status: 0 });
		expect(result.error).toBeTruthy();
	});
});
