/**
 * Approval gates, step windows and webhook notifications in workerd: the
 * deployment object's outbox delivers to a real receiver worker
 * (test/workers/webhooks.ts) from its alarm, signed, retried, and kept
 * across a restart of the object.
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { WEEKDAYS } from "../../src/config/calendar";
import type { DeploymentSpecInput } from "../../src/config/spec";
import { admin, adminJson } from "../helpers/admin";
import { kvState, look, recordTraffic } from "../helpers/controller";
import { spec, uniqueName } from "../helpers/edge";
import { TEST_WEBHOOK_SECRET } from "../helpers/secrets";

interface Received {
	delivery: string;
	event: string | null;
	signature: string | null;
	contentType: string | null;
	body: string;
	answered: number;
}

interface HistoryEntry {
	id: number;
	kind: string;
	reason: string;
	notifications?: {
		event: string;
		target: string;
		status: string;
		attempts: number;
		lastError?: string;
	}[];
}

async function received(name: string): Promise<Received[]> {
	const res = await env.HOOKS.fetch(`https://hooks.test/__hooks/received?key=${name}`);
	return (await res.json()) as Received[];
}

/** Makes the receiver answer 503 to the next `times` deliveries for `name` (-1: until told otherwise). */
async function failNext(name: string, times: number): Promise<void> {
	await env.HOOKS.fetch(`https://hooks.test/__hooks/fail?key=${name}&times=${times}`, {
		method: "POST",
	});
}

/** Waits until the receiver answered `count` deliveries for `name` with 2xx; returns them. */
function delivered(name: string, count: number): Promise<Received[]> {
	return vi.waitFor(
		async () => {
			const ok = (await received(name)).filter((r) => r.answered < 300);
			if (ok.length < count) throw new Error(`${ok.length} of ${count} delivered`);
			return ok;
		},
		{ timeout: 10_000, interval: 50 },
	);
}

async function history(name: string): Promise<HistoryEntry[]> {
	return (await adminJson<{ entries: HistoryEntry[] }>("GET", `/deployments/${name}/history`)).body
		.entries;
}

async function hex(secret: string, body: string): Promise<string> {
	const key = await crypto.subtle.importKey(
		"raw",
		new TextEncoder().encode(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
	return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A canary that steps 10 → 50 → 100 as soon as 100 requests per variant arrived. */
function gated(name: string, extra: Partial<DeploymentSpecInput> = {}): DeploymentSpecInput {
	return spec(name, {
		strategy: "canary",
		canary: { steps: [10, 50, 100], minRequests: 100, bakeSeconds: 0, approvalBefore: [50] },
		notify: [{ service: "HOOKS" }],
		...extra,
	});
}

async function create(value: DeploymentSpecInput): Promise<void> {
	const res = await admin("PUT", `/deployments/${value.name}`, value);
	expect(res.status).toBe(201);
}

describe("webhook notifications", () => {
	it("posts each event once, signed with the webhook secret, in order", async () => {
		const name = uniqueName("hooked");
		await create(gated(name));
		for (const action of ["start", "pause", "resume", "abort"])
			expect((await admin("POST", `/deployments/${name}/${action}`)).status).toBe(200);
		const got = await delivered(name, 4);
		expect(got.map((r) => r.event)).toEqual(["start", "pause", "resume", "abort"]);
		for (const r of got) {
			expect(r.contentType).toBe("application/json");
			expect(r.signature).toBe(`sha256=${await hex(TEST_WEBHOOK_SECRET, r.body)}`);
			expect(r.delivery).toMatch(new RegExp(`^${name}/\\d+$`));
		}
		expect(JSON.parse(got[3]?.body ?? "{}")).toMatchObject({
			event: "abort",
			deployment: name,
			actor: "admin",
			from: { status: "running", weight: 10 },
			to: { status: "aborted", weight: 0 },
			reason: "aborted by an operator: all traffic back to the champion",
		});
		const entries = await history(name);
		expect(entries[0]).toMatchObject({
			kind: "admin:abort",
			notifications: [
				{ event: "abort", target: "service:HOOKS", status: "delivered", attempts: 1 },
			],
		});
	});

	it("sends only the events a target asks for, as a Slack message when asked", async () => {
		const name = uniqueName("slack");
		await create(
			gated(name, { notify: [{ service: "HOOKS", events: ["abort"], format: "slack" }] }),
		);
		await admin("POST", `/deployments/${name}/start`);
		await admin("POST", `/deployments/${name}/abort`, { reason: "pager" });
		const [only] = await delivered(name, 1);
		expect(JSON.parse(only?.body ?? "{}")).toEqual({
			text: `*${name}* ABORTED (running 10 % → aborted 0 %, by admin)\npager`,
		});
		const entries = await history(name);
		expect(entries.find((e) => e.kind === "admin:start")?.notifications).toBeUndefined();
		expect(await received(name)).toHaveLength(1);
	});

	it("retries a delivery the receiver refused, with the same body, and shows the attempts", async () => {
		const name = uniqueName("retried");
		await create(gated(name));
		await failNext(name, 2);
		await admin("POST", `/deployments/${name}/start`);
		await delivered(name, 1);
		const all = await received(name);
		expect(all.map((r) => r.answered)).toEqual([503, 503, 204]);
		expect(new Set(all.map((r) => r.body)).size).toBe(1);
		expect(new Set(all.map((r) => r.delivery)).size).toBe(1);
		const entries = await history(name);
		expect(entries.find((e) => e.kind === "admin:start")?.notifications).toEqual([
			{
				event: "start",
				target: "service:HOOKS",
				status: "delivered",
				attempts: 3,
				deliveredAt: expect.stringMatching(/Z$/),
			},
		]);
	});

	it("loses nothing across a restart of the object", async () => {
		const name = uniqueName("restart");
		await create(gated(name));
		await failNext(name, -1);
		await admin("POST", `/deployments/${name}/start`);
		await admin("POST", `/deployments/${name}/abort`);
		// At least one refused attempt, so the events are waiting in the outbox for a retry.
		await vi.waitFor(
			async () => {
				const start = (await history(name)).find((e) => e.kind === "admin:start");
				if ((start?.notifications?.[0]?.attempts ?? 0) < 1) throw new Error("no attempt yet");
			},
			{ timeout: 10_000, interval: 50 },
		);
		// Every instance is reset: in-memory state is gone, SQLite and the alarm stay.
		await abortAllDurableObjects();
		await failNext(name, 0);
		const got = await delivered(name, 2);
		expect(got.map((r) => r.event)).toEqual(["start", "abort"]);
		const entries = await history(name);
		expect(entries.filter((e) => e.notifications).map((e) => e.notifications?.[0]?.status)).toEqual(
			["delivered", "delivered"],
		);
	});

	it("marks a delivery failed when the attempts run out, and says why", async () => {
		const name = uniqueName("exhausted");
		await create(gated(name, { notify: [{ service: "NOT_CONFIGURED" }] }));
		await admin("POST", `/deployments/${name}/start`);
		await vi.waitFor(
			async () => {
				const start = (await history(name)).find((e) => e.kind === "admin:start");
				if (start?.notifications?.[0]?.status !== "failed") throw new Error("not failed yet");
			},
			{ timeout: 30_000, interval: 100 },
		);
		const start = (await history(name)).find((e) => e.kind === "admin:start");
		expect(start?.notifications?.[0]).toMatchObject({
			status: "failed",
			attempts: 6,
			lastError: "service binding NOT_CONFIGURED is not configured",
		});
	}, 40_000);
});

describe("approval gates", () => {
	it("holds awaiting approval, tells the webhook, and steps up once approved", async () => {
		const name = uniqueName("gate");
		await create(gated(name));
		await admin("POST", `/deployments/${name}/start`);
		await recordTraffic(name, 10, 2000);
		const held = await look(name);
		expect(held).toMatchObject({
			ok: true,
			decision: { kind: "hold", code: "awaiting_approval" },
			state: { status: "running", weight: 10 },
		});
		expect(held.ok && held.decision.reason).toMatch(/^awaiting approval to go to 50 %/);
		// A second look holds without a second event.
		await look(name);

		const approved = await adminJson<{ state: { status: string; weight: number } }>(
			"POST",
			`/deployments/${name}/approve`,
			{ reason: "numbers look fine" },
		);
		expect(approved).toMatchObject({
			status: 200,
			body: { state: { status: "running", weight: 50 } },
		});
		expect(await kvState(name)).toMatchObject({ status: "running", weight: 50 });
		const got = await delivered(name, 4);
		expect(got.map((r) => r.event)).toEqual(["start", "awaiting_approval", "approved", "step_up"]);
		expect((await history(name)).slice(0, 2).map((e) => e.kind)).toEqual([
			"step_up",
			"admin:approve",
		]);
	});

	it("keeps the guardrails running while it waits: a failing candidate is aborted", async () => {
		const name = uniqueName("gate-abort");
		await create(gated(name));
		await admin("POST", `/deployments/${name}/start`);
		await recordTraffic(name, 10, 2000);
		expect(await look(name)).toMatchObject({ decision: { code: "awaiting_approval" } });
		await recordTraffic(name, 10, 2000, 0.5);
		expect(await look(name)).toMatchObject({
			decision: { kind: "abort" },
			state: { status: "aborted", weight: 0 },
		});
		expect((await delivered(name, 3)).map((r) => r.event)).toEqual([
			"start",
			"awaiting_approval",
			"abort",
		]);
	});

	it("refuses to approve a step that needs no approval", async () => {
		const name = uniqueName("gate-none");
		await create(gated(name, { canary: { steps: [10, 50, 100], approvalBefore: [100] } }));
		await admin("POST", `/deployments/${name}/start`);
		const refused = await adminJson<{ error: { code: string; message: string } }>(
			"POST",
			`/deployments/${name}/approve`,
		);
		expect(refused).toMatchObject({
			status: 409,
			body: {
				error: {
					code: "invalid_transition",
					message: expect.stringMatching(/50 %\) needs no approval/),
				},
			},
		});
	});
});

describe("step windows", () => {
	it("holds a passed step outside the window and still aborts there", async () => {
		const name = uniqueName("window");
		// Every day but today (UTC): the window is closed now, whenever the test runs.
		const today = WEEKDAYS[new Date().getUTCDay()];
		await create(
			gated(name, {
				canary: {
					steps: [10, 50, 100],
					minRequests: 100,
					bakeSeconds: 0,
					stepWindows: { timezone: "UTC", days: WEEKDAYS.filter((d) => d !== today) },
				},
			}),
		);
		await admin("POST", `/deployments/${name}/start`);
		await recordTraffic(name, 10, 2000);
		const held = await look(name);
		expect(held).toMatchObject({ decision: { kind: "hold", code: "outside_window" } });
		expect(held.ok && held.decision.reason).toMatch(
			/waiting for the step window .* to go to 50 %: opens /,
		);
		await recordTraffic(name, 10, 2000, 0.5);
		expect(await look(name)).toMatchObject({ state: { status: "aborted" } });
	});

	it("steps up inside the window", async () => {
		const name = uniqueName("window-open");
		await create(
			gated(name, {
				canary: {
					steps: [10, 50, 100],
					minRequests: 100,
					bakeSeconds: 0,
					stepWindows: { timezone: "Europe/Berlin" },
				},
			}),
		);
		await admin("POST", `/deployments/${name}/start`);
		await recordTraffic(name, 10, 2000);
		expect(await look(name)).toMatchObject({
			decision: { kind: "step_up" },
			state: { weight: 50 },
		});
	});
});

describe("the object's alarm", () => {
	it("is set to the earliest of retention and the outbox, and comes back to retention", async () => {
		const name = uniqueName("alarm");
		await create(gated(name));
		await recordTraffic(name, 10, 200);
		const stub = env.DEPLOYMENT.getByName(name);
		const retention = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
		expect(retention).toBeGreaterThan(Date.now() + 30 * 60_000);
		await admin("POST", `/deployments/${name}/start`);
		await delivered(name, 1);
		await vi.waitFor(
			async () => {
				const alarm = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
				if (alarm !== retention) throw new Error(`alarm at ${alarm}, retention at ${retention}`);
			},
			{ timeout: 5000, interval: 50 },
		);
	});

	it("re-arms retention after it failed", async () => {
		const name = uniqueName("alarm-failure");
		await create(gated(name));
		await recordTraffic(name, 10, 200);
		const stub = env.DEPLOYMENT.getByName(name);
		await runInDurableObject(stub, (_o, state) => {
			state.storage.sql.exec("DROP TABLE shadow_samples");
			state.storage.sql.exec("UPDATE alarm_jobs SET due_at = 0 WHERE job = 'retention'");
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const alarm = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
		expect(alarm).not.toBeNull();
		expect(alarm).toBeGreaterThan(Date.now());
		expect(alarm).toBeLessThan(Date.now() + 10 * 60_000);
	});
});
