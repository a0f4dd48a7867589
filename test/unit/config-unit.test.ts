import { describe, expect, it } from "vitest";
import { parseSpecFor } from "../../src/config/kv";
import { parseJsonWith, parseWith } from "../../src/config/parse";
import { DeploymentSpec } from "../../src/config/spec";
import { KvRolloutState, routingOf } from "../../src/config/state";

const minimal = {
	name: "sentiment",
	strategy: "canary",
	champion: { version: "v1", url: "https://models.example.com/sentiment/v1" },
	candidate: { version: "v2", service: "MODEL_V2" },
};

describe("deployment spec", () => {
	it("fills every other field of a minimal spec with defaults", () => {
		const spec = DeploymentSpec.parse(minimal);
		expect(spec.assignment).toEqual({ unit: "cookie", hashVersion: 1 });
		expect(spec.timeoutMs).toBe(3000);
		expect(spec.fallback).toBe(true);
		expect(spec.maxBodyBytes).toBe(1024 * 1024);
		expect(spec.canary.steps).toEqual([1, 5, 25, 50, 100]);
		expect(spec.canary.minRequests).toBe(500);
		expect(spec.canary.alpha).toBe(0.05);
		expect(spec.ab.weight).toBe(50);
		expect(spec.shadow.sampleRate).toBe(1);
		expect(spec.shadow.compare).toEqual({});
	});

	it("accepts the full example from the design", () => {
		const parsed = parseWith(DeploymentSpec, {
			...minimal,
			assignment: { unit: "cookie", salt: "sentiment-2026-11" },
			timeoutMs: 3000,
			canary: {
				steps: [1, 5, 25, 50, 100],
				minRequests: 500,
				bakeSeconds: 300,
				maxErrorRateIncrease: 0.01,
				maxLatencyIncreaseMs: 50,
				alpha: 0.05,
			},
			ab: { weight: 50, metric: "feedback", alpha: 0.05, minSamples: 1000 },
			shadow: { sampleRate: 1.0, compare: { field: "label" } },
		});
		expect(parsed.ok).toBe(true);
	});

	it("reads a header unit and lowercases the header name", () => {
		const spec = DeploymentSpec.parse({
			...minimal,
			assignment: { unit: "header", header: "X-User-Id" },
		});
		expect(spec.assignment).toMatchObject({ unit: "header", header: "x-user-id" });
	});

	it.each([
		[
			"a backend with both url and service",
			{ candidate: { version: "v2", url: "https://a.example", service: "X" } },
			"candidate",
		],
		["a backend with neither", { candidate: { version: "v2" } }, "candidate"],
		[
			"plain http to a public host",
			{ champion: { version: "v1", url: "http://models.example.com" } },
			"champion.url",
		],
		["decreasing steps", { canary: { steps: [5, 1, 100] } }, "canary.steps"],
		["a weight with three decimals", { ab: { weight: 33.333 } }, "ab.weight"],
		["an unknown strategy", { strategy: "blue-green" }, "strategy"],
		["an unknown field", { colour: "blue" }, ""],
		["an upper-case name", { name: "Sentiment" }, "name"],
		[
			"one version label for two backends",
			{ candidate: { version: "v1", service: "MODEL_V2" } },
			"candidate.version",
		],
		["a body limit over 32 MB", { maxBodyBytes: 64 * 1024 * 1024 }, "maxBodyBytes"],
		[
			"a Workers AI backend with auth",
			{ candidate: { version: "v2", ai: { model: "@cf/x" }, auth: { secret: "KEY" } } },
			"candidate.auth",
		],
	])("rejects %s with the path of the problem", (_, patch, path) => {
		const parsed = parseWith(DeploymentSpec, { ...minimal, ...patch });
		expect(parsed.ok).toBe(false);
		if (!parsed.ok) expect(parsed.issues.map((i) => i.path)).toContain(path);
	});

	it.each(["ADMIN_TOKEN", "SIGNING_KEY", "SIGNING_KEYS", "FEEDBACK_TOKEN", "WEBHOOK_SECRET"])(
		"refuses Switchyard's own %s as a backend credential",
		(secret) => {
			const candidate = { version: "v2", url: "https://elsewhere.example", auth: { secret } };
			const parsed = parseWith(DeploymentSpec, { ...minimal, candidate });
			expect(parsed.ok).toBe(false);
			if (!parsed.ok) expect(parsed.issues.map((i) => i.path)).toContain("candidate.auth.secret");
		},
	);

	it("allows one version label for one backend in both roles (a shadow of itself)", () => {
		expect(parseWith(DeploymentSpec, { ...minimal, candidate: minimal.champion }).ok).toBe(true);
	});

	it("allows http to a loopback host (local models)", () => {
		expect(
			parseWith(DeploymentSpec, {
				...minimal,
				champion: { version: "v1", url: "http://127.0.0.1:9000" },
			}).ok,
		).toBe(true);
	});

	it("reports bad JSON as an issue, not an exception", () => {
		const parsed = parseJsonWith(DeploymentSpec, "{not json");
		expect(parsed.ok).toBe(false);
		if (!parsed.ok) expect(parsed.issues[0]?.message).toMatch(/invalid JSON/);
	});

	it("requires the name inside a KV spec to match its key", () => {
		const parsed = parseSpecFor("other", JSON.stringify(minimal));
		expect(parsed.ok).toBe(false);
		if (!parsed.ok) expect(parsed.issues[0]).toMatchObject({ path: "name" });
	});
});

describe("rollout state", () => {
	it("accepts a hand edit with only status and weight", () => {
		expect(KvRolloutState.parse({ status: "paused", weight: 10 })).toMatchObject({
			status: "paused",
			weight: 10,
			step: 0,
			updatedBy: "manual",
		});
		// No revision: the deployment object tells a hand edit from a stale copy by it.
		expect(KvRolloutState.parse({ status: "paused", weight: 10 }).revision).toBeUndefined();
	});

	it("rejects an unknown status", () => {
		expect(KvRolloutState.safeParse({ status: "cancelled" }).success).toBe(false);
	});

	const spec = DeploymentSpec.parse({ ...minimal, shadow: { sampleRate: 0.25 } });
	it.each([
		[
			{ status: "pending", weight: 40 },
			{ mode: "split", threshold: 0 },
		],
		[
			{ status: "aborted", weight: 40 },
			{ mode: "split", threshold: 0 },
		],
		[
			{ status: "running", weight: 5 },
			{ mode: "split", threshold: 500 },
		],
		[
			{ status: "paused", weight: 12.5 },
			{ mode: "split", threshold: 1250 },
		],
		[
			{ status: "promoted", weight: 50 },
			{ mode: "split", threshold: 10_000 },
		],
		[
			{ status: "concluded", weight: 100 },
			{ mode: "split", threshold: 10_000 },
		],
		[
			{ status: "shadowing", weight: 0 },
			{ mode: "shadow", sampleRate: 0.25 },
		],
	] as const)("routes %o as %o", (state, routing) => {
		expect(routingOf(spec, KvRolloutState.parse(state))).toEqual(routing);
	});
});
