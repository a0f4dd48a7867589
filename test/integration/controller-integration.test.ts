import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { kvState, look, recordTraffic, runCron } from "../helpers/controller";
import { deploy, putSpec, putState, spec, uniqueName, Visitor } from "../helpers/edge";
import { waitForRequests } from "../helpers/metrics";

const history = (name: string) => env.DEPLOYMENT.getByName(name).history(100);

describe("the cron controller", () => {
	it("takes a healthy canary through every step to promoted", async () => {
		const name = uniqueName("healthy");
		await putSpec(spec(name, { strategy: "canary", canary: { minRequests: 50, bakeSeconds: 0 } }));
		await putState(name, { status: "running", weight: 1 });
		const weights: number[] = [];
		for (let minute = 0; minute < 10; minute++) {
			const state = await kvState(name);
			if (state?.status !== "running") break;
			weights.push(state.weight);
			await recordTraffic(name, state.weight, state.weight < 5 ? 5000 : 1000);
			await look(name);
		}
		expect(weights).toEqual([1, 5, 25, 50]);
		expect(await kvState(name)).toMatchObject({
			status: "promoted",
			weight: 100,
			updatedBy: "controller",
		});
		const kinds = (await history(name)).map((e) => e.kind).reverse();
		expect(kinds).toEqual(["adopted", "step_up", "step_up", "step_up", "promote"]);
		const promote = (await history(name))[0];
		expect(promote?.reason).toMatch(/promoted: 50 % passed/);
		expect(JSON.parse(promote?.detailsJson ?? "null")).toMatchObject({
			guardrails: [
				{ name: "error_rate", status: "pass" },
				{ name: "latency_p95", status: "pass" },
			],
		});
	});

	// Up to a few thousand real requests through the worker: a generous test timeout.
	it("aborts a candidate that fails 10 % of real requests at an early step; afterwards the champion serves everyone", {
		timeout: 60_000,
	}, async () => {
		const name = uniqueName("faulty");
		await deploy(name, 25, {
			strategy: "canary",
			candidate: { version: "v2-faulty", service: "MODEL_V2_FAULTY" },
			// The hard ceiling is set out of the way: this test is about the error-rate guardrail.
			canary: {
				steps: [25, 50, 100],
				minRequests: 200,
				bakeSeconds: 0,
				nStar: 500,
				maxErrorRate: 0.9,
			},
		});
		let sent = 0;
		for (let batch = 0; batch < 60; batch++) {
			await Promise.all(Array.from({ length: 50 }, () => new Visitor().variant(name)));
			sent += 50;
			await waitForRequests(name, sent);
			await look(name);
			if ((await kvState(name))?.status === "aborted") break;
		}
		const state = await kvState(name);
		expect(state).toMatchObject({ status: "aborted", weight: 0 });
		const abort = (await history(name)).find((e) => e.kind === "abort");
		// Aborted before promotion: at the first step, or (rarely, on a lucky first sample) the second.
		expect(abort?.from?.status).toBe("running");
		expect([25, 50]).toContain(abort?.from?.weight);
		expect(abort?.reason).toMatch(/error_rate failed/);
		const after = await Promise.all(Array.from({ length: 40 }, () => new Visitor().variant(name)));
		expect(new Set(after)).toEqual(new Set(["champion"]));
	});

	it("honours a manual KV edit, records it as manual, and does not step while paused", async () => {
		const name = uniqueName("manual");
		await putSpec(spec(name, { strategy: "canary", canary: { minRequests: 50, bakeSeconds: 0 } }));
		await putState(name, { status: "running", weight: 5 });
		await look(name);
		// An operator pauses by hand, with a new weight.
		await env.CONFIG.put(`state:${name}`, JSON.stringify({ status: "paused", weight: 10 }));
		await recordTraffic(name, 10, 2000);
		await look(name);
		await look(name);
		expect(await kvState(name)).toMatchObject({
			status: "paused",
			weight: 10,
			step: 1,
			updatedBy: "manual",
		});
		const manual = (await history(name)).find((e) => e.kind === "manual");
		expect(manual).toMatchObject({
			actor: "manual",
			from: { status: "running", weight: 5 },
			to: { status: "paused", weight: 10 },
		});
		// Back to running by hand at 10 %: the next step continues above it.
		await env.CONFIG.put(`state:${name}`, JSON.stringify({ status: "running", weight: 10 }));
		await look(name);
		await recordTraffic(name, 10, 2000);
		await look(name);
		expect(await kvState(name)).toMatchObject({
			status: "running",
			weight: 25,
			updatedBy: "controller",
		});
	});

	it("keeps an aborted rollout aborted", async () => {
		const name = uniqueName("stays-aborted");
		await putSpec(spec(name, { strategy: "canary", canary: { minRequests: 50, bakeSeconds: 0 } }));
		await putState(name, { status: "running", weight: 5 });
		await look(name);
		await env.CONFIG.put(`state:${name}`, JSON.stringify({ status: "aborted", weight: 0 }));
		await recordTraffic(name, 5, 5000);
		await look(name);
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "aborted", weight: 0 });
	});

	it("steps once when two scheduled runs overlap", async () => {
		const name = uniqueName("overlap");
		await putSpec(spec(name, { strategy: "canary", canary: { minRequests: 50, bakeSeconds: 0 } }));
		await putState(name, { status: "running", weight: 5 });
		await look(name);
		await recordTraffic(name, 5, 2000);
		const now = Date.now();
		await Promise.all([look(name, now), look(name, now), look(name, now + 1)]);
		expect(await kvState(name)).toMatchObject({ status: "running", weight: 25 });
		expect((await history(name)).filter((e) => e.kind === "step_up")).toHaveLength(1);
	});

	it("logs a hold once per reason, not every minute", async () => {
		const name = uniqueName("quiet");
		await putSpec(spec(name, { strategy: "canary" }));
		await putState(name, { status: "running", weight: 5 });
		for (let i = 0; i < 4; i++) await look(name);
		const holds = (await history(name)).filter((e) => e.kind === "hold");
		expect(holds).toHaveLength(1);
		expect(holds[0]?.reason).toMatch(/waiting for 500 more candidate requests/);
	});

	it("writes KV only when the state changes", async () => {
		const name = uniqueName("writes");
		await putSpec(spec(name, { strategy: "canary" }));
		await putState(name, { status: "running", weight: 5 });
		await look(name);
		const first = await env.CONFIG.getWithMetadata(`state:${name}`);
		await look(name);
		await look(name);
		const later = await env.CONFIG.getWithMetadata(`state:${name}`);
		expect(later.value).toBe(first.value);
		expect(JSON.parse(first.value ?? "{}")).toMatchObject({ revision: 1 });
	});

	it("runs every deployment from the cron trigger, skipping one whose spec was never valid", async () => {
		const broken = uniqueName("broken-spec");
		const fine = uniqueName("fine");
		await env.CONFIG.put(`deployment:${broken}`, "{oops");
		await putSpec(spec(fine, { strategy: "canary", canary: { minRequests: 10, bakeSeconds: 0 } }));
		await putState(fine, { status: "running", weight: 50 });
		await recordTraffic(fine, 50, 100);
		await runCron();
		expect(await kvState(fine)).toMatchObject({ status: "promoted" });
		expect(await kvState(broken)).toBeNull();
	});
});

describe("rollout epochs", () => {
	it("starts a restarted rollout from fresh numbers, even within the same minute", async () => {
		const { admin, adminJson } = await import("../helpers/admin");
		const name = uniqueName("epochs");
		await putSpec(spec(name, { strategy: "canary", canary: { minRequests: 50, bakeSeconds: 0 } }));
		await admin("POST", `/deployments/${name}/start`);
		await recordTraffic(name, 1, 10_000, 0.5);
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "aborted" });
		await admin("POST", `/deployments/${name}/start`);
		const { body } = await adminJson<{
			analysis: { rollout: { candidate: { requests: number } }; step: { candidate: number } };
		}>("GET", `/deployments/${name}`);
		expect(body.analysis.rollout.candidate.requests).toBe(0);
		expect(body.analysis.step.candidate).toBe(0);
		await recordTraffic(name, 1, 10_000);
		await look(name);
		expect(await kvState(name)).toMatchObject({ status: "running", weight: 5 });
	});
});
