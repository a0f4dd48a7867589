/**
 * A hostile client, generated: random methods, paths (percent-encodings, dot
 * segments, unicode, overlong), headers (duplicated, huge, mixed case, the
 * secrets in every place) and bodies (huge, chunked, invalid JSON, wrong
 * types) against a canary served by the echo backend, which answers every
 * request with what it received, and an A/B test served by the demo models,
 * which answer malformed requests with 400 or 405. Seeded and bounded (see
 * NUM_RUNS).
 *
 * Invariants: no unhandled exception (no 500 from the edge); only documented
 * statuses and error codes; no variant charged for anything a client sent
 * (neither backend ever fails, so every error would be a misattribution);
 * no secret in any forwarded request; no unauthenticated input changes a
 * state, a weight or a verdict.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admin } from "../helpers/admin";
import { kvState, look } from "../helpers/controller";
import { deploy, ORIGIN, spec, uniqueName } from "../helpers/edge";
import { totals, waitForRequests } from "../helpers/metrics";
import { TEST_ADMIN_TOKEN, TEST_FEEDBACK_TOKEN } from "../helpers/secrets";

const NUM_RUNS = 600;
const SECRETS = [TEST_ADMIN_TOKEN, TEST_FEEDBACK_TOKEN];

/** Every status the edge answers with itself (the echo backend only answers 200). */
const STATUSES = new Set([200, 400, 401, 404, 405, 413, 429]);
/** Every error code the public routes document. */
const CODES = new Set([
	"not_found",
	"deployment_not_found",
	"invalid_path",
	"payload_too_large",
	"request_aborted",
	"unauthorized",
	"invalid_request",
	"invalid_request_id",
	"invalid_value",
	"request_id_expired",
	"rate_limited",
	"method_not_allowed",
]);

const echo = {
	champion: { version: "echo-1", service: "MODEL_ECHO" },
	candidate: { version: "echo-2", service: "MODEL_ECHO" },
};

/** Text with the characters that break naive path and header handling. */
const nasty = fc.oneof(
	fc.string({ maxLength: 40 }),
	fc.constantFrom(
		"..",
		".",
		"%2e%2e",
		"%2E",
		"%5c",
		"%2f",
		"%00",
		"%",
		"%zz",
		"é",
		"😀",
		"\\",
		"//",
		"?",
		"#",
	),
	fc.string({ minLength: 200, maxLength: 3000 }),
);

const segment = fc
	.array(nasty, { maxLength: 4 })
	.map((parts) =>
		parts.map((p) => encodeURI(p).replace(/#/g, "%23").replace(/\?/g, "%3F")).join("/"),
	);

function arbitraryRequest(names: { canary: string; ab: string }) {
	const encodedName = (name: string) =>
		`${name.slice(0, -1)}%${name.charCodeAt(name.length - 1).toString(16)}`;
	const path = fc.oneof(
		segment.map((rest) => `/v1/models/${names.canary}/${rest}`),
		segment.map((rest) => `/v1/models/${names.ab}/${rest}`),
		segment.map((rest) => `/v1/models/${encodedName(names.canary)}/${rest}`),
		fc.constant("/v1/feedback"),
		segment.map((rest) => `/${rest}`),
		fc.constantFrom(
			`/admin/api/deployments/${names.canary}/abort`,
			`/admin/api/deployments/${names.canary}/weight`,
			`/admin/api/deployments/${names.ab}`,
			"/admin/api/deployments",
		),
	);
	const secretHeader = fc.tuple(
		fc.constantFrom(
			"authorization",
			"Authorization",
			"x-switchyard-token",
			"cookie",
			"x-api-key",
			"X-Custom",
		),
		fc.constantFrom(...SECRETS.flatMap((s) => [s, `Bearer ${s}`, `a=${s}`])),
	);
	const header = fc.oneof(
		fc.tuple(
			fc.constantFrom(
				"x-switchyard-variant",
				"X-Switchyard-Variant",
				"x-forwarded-for",
				"forwarded",
				"content-type",
				"content-length",
				"cookie",
				"connection",
				"x-user-id",
				"cf-connecting-ip",
			),
			fc.oneof(
				fc.constantFrom(
					"candidate",
					"Candidate",
					"champion",
					"6.6.6.6",
					"sy_uid=x.y",
					"close, x-a",
					"1",
					"-1",
				),
				fc.string({ maxLength: 20 }).filter((v) => /^[\x20-\x7e]*$/.test(v)),
				fc.string({ minLength: 4000, maxLength: 8000 }).map((v) => v.replace(/[^\x20-\x7e]/g, "a")),
			),
		),
		fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.stringMatching(/^[\x20-\x7e]{0,40}$/)),
	);
	const body = fc.oneof(
		fc.constant(undefined),
		fc.constant('{"text":"a great day"}'),
		fc.string({ maxLength: 200 }),
		fc.constantFrom("{", "[]", "null", '{"requestId":"v2.x","value":1e308}', '{"requestId":42}'),
		fc.integer({ min: 1_048_000, max: 1_100_000 }).map((n) => "x".repeat(n)),
	);
	// The secrets go everywhere but to the admin API, where they would make the client an
	// operator (who may change states): there it gets only unauthenticated headers.
	const target = path.chain((p) =>
		fc.record({
			path: fc.constant(p),
			headers: fc.array(p.startsWith("/admin") ? header : fc.oneof(header, secretHeader), {
				maxLength: 8,
			}),
		}),
	);
	return fc
		.record({
			method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
			target,
			body,
			chunked: fc.boolean(),
		})
		.map(({ target: t, ...rest }) => ({ ...rest, path: t.path, headers: t.headers }));
}

function parse(text: string): { error?: { code?: string; requestId?: string } } | undefined {
	try {
		return JSON.parse(text) as { error?: { code?: string; requestId?: string } };
	} catch {
		return undefined;
	}
}

function asStream(text: string): ReadableStream<Uint8Array> {
	const bytes = new TextEncoder().encode(text);
	let offset = 0;
	return new ReadableStream({
		pull(controller) {
			if (offset >= bytes.length) return controller.close();
			controller.enqueue(bytes.slice(offset, offset + 65_536));
			offset += 65_536;
		},
	});
}

describe("a generated hostile client", () => {
	it("never crashes the edge, never charges a variant, never leaks a secret, never moves a rollout", async () => {
		const canary = uniqueName("fuzz-canary");
		const ab = uniqueName("fuzz-ab");
		await deploy(canary, 50, {
			strategy: "canary",
			...echo,
			canary: { steps: [50, 100], minRequests: 100_000, bakeSeconds: 86_400, maxErrorRate: 0.01 },
		});
		await deploy(ab, 50, { ab: { weight: 50, autoConclude: true, minSamples: 1 } });
		await look(canary);
		await look(ab);
		const before = { canary: await kvState(canary), ab: await kvState(ab) };
		let edgeAnswers = 0;
		await fc.assert(
			fc.asyncProperty(arbitraryRequest({ canary, ab }), async (request) => {
				const headers = new Headers();
				for (const [name, value] of request.headers) {
					try {
						headers.append(name, value);
					} catch {
						// A header the platform itself refuses never reaches the worker.
					}
				}
				const sendsBody =
					request.body !== undefined && request.method !== "GET" && request.method !== "HEAD";
				const init: RequestInit & { duplex?: "half" } = { method: request.method, headers };
				if (sendsBody) {
					init.body = request.chunked ? asStream(request.body as string) : request.body;
					if (request.chunked) init.duplex = "half";
				}
				const res = await exports.default.fetch(`${ORIGIN}${request.path}`, init);
				const text = await res.text();
				const envelope = parse(text)?.error;
				const ours =
					envelope !== undefined && envelope.requestId === res.headers.get("x-request-id");
				const fromBackend = !ours && res.headers.has("x-model-version");
				const what = `${res.status} for ${request.method} ${request.path.slice(0, 80)}`;
				if (!fromBackend) {
					edgeAnswers++;
					expect(STATUSES, what).toContain(res.status);
					if (res.status >= 400 && request.method !== "HEAD")
						expect(CODES, what).toContain(envelope?.code);
				}
				// The echo backend answers with what it received: no secret may be in it.
				if (res.headers.get("x-echo") === "1")
					for (const secret of SECRETS) expect(text).not.toContain(secret);
			}),
			{ numRuns: NUM_RUNS, seed: 20261202, endOnFailure: true },
		);
		expect(edgeAnswers).toBeGreaterThan(NUM_RUNS / 4);
		// The demo models refused malformed requests (4xx): client faults, not errors.
		expect(
			(await totals(ab)).candidate.clientFaults + (await totals(ab)).champion.clientFaults,
		).toBeGreaterThan(0);
		// Nothing a client sent counted against a variant: the echo backend never failed.
		const served =
			(await totals(canary)).candidate.requests + (await totals(canary)).champion.requests;
		await waitForRequests(canary, served);
		for (const name of [canary, ab]) {
			const t = await totals(name);
			for (const variant of [t.champion, t.candidate]) {
				expect(variant.errors5xx + variant.timeouts + variant.networkErrors, name).toBe(0);
				expect(variant.fallbacks, name).toBe(0);
			}
		}
		// No unauthenticated input changed a state, a weight or a verdict.
		await look(canary);
		await look(ab);
		expect(await kvState(canary)).toEqual(before.canary);
		expect(await kvState(ab)).toEqual(before.ab);
		const feedback = await env.DEPLOYMENT.getByName(ab).feedback(0, Date.now() + 60_000);
		expect(feedback.champion.n + feedback.candidate.n).toBe(0);
	});

	it("validates any spec the admin API is given: 200/201, 400 or 409, never a crash", async () => {
		const base = spec("fuzz-spec");
		const value = fc.oneof(
			fc.constant(undefined),
			fc.constant(null),
			fc.integer(),
			fc.double(),
			fc.string({ maxLength: 30 }),
			fc.boolean(),
			fc.array(fc.integer({ min: -10, max: 200 }), { maxLength: 6 }),
			fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
		);
		const field = fc.constantFrom(
			"name",
			"strategy",
			"champion",
			"candidate",
			"assignment",
			"timeoutMs",
			"maxBodyBytes",
			"canary",
			"ab",
			"shadow",
			"feedback",
			"unknownField",
		);
		await fc.assert(
			fc.asyncProperty(fc.array(fc.tuple(field, value), { maxLength: 4 }), async (changes) => {
				const body: Record<string, unknown> = { ...base };
				for (const [key, v] of changes) body[key] = v;
				const res = await admin("PUT", "/deployments/fuzz-spec", body);
				expect([200, 201, 400, 409]).toContain(res.status);
				if (res.status === 400) {
					const code = ((await res.json()) as { error: { code: string } }).error.code;
					expect(["invalid_spec", "name_mismatch"]).toContain(code);
				} else await res.arrayBuffer();
			}),
			{ numRuns: 120, seed: 7 },
		);
	});
});
