/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against the router and demo models in workerd (Miniflare).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startDemoStack } from "../../scripts/lib/stack";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let stack: Stack;
let browser: Browser;
let work: string;

async function admin(method: string, path: string, body?: unknown) {
	const res = await fetch(`${stack.url}/admin/api${path}`, {
		method,
		headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return res.json();
}

beforeAll(async () => {
	if (!existsSync(CHROMIUM))
		throw new Error(
			`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
		);
	work = mkdtempSync(join(tmpdir(), "switchyard-dashboard-"));
	stack = await startDemoStack(join(work, "build"), {
		CONFIG_TTL_SECONDS: "0",
		METRICS_FLUSH_MS: "0",
	});
	await admin("PUT", "/deployments/dash-canary", {
		name: "dash-canary",
		strategy: "canary",
		champion: { version: "v1", service: "MODEL_V1" },
		candidate: { version: "v2", service: "MODEL_V2" },
		canary: { steps: [50, 100] },
	});
	await admin("POST", "/deployments/dash-canary/start");
	await Promise.all(
		Array.from({ length: 60 }, () =>
			fetch(`${stack.url}/v1/models/dash-canary/predict`, {
				method: "POST",
				body: JSON.stringify({ text: "a great day" }),
			}).then((r) => r.arrayBuffer()),
		),
	);
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
		],
	});
}, 180_000);

afterAll(async () => {
	await browser?.close();
	await stack?.dispose();
	if (work) rmSync(work, { recursive: true, force: true });
});

describe("the /admin dashboard", () => {
	it("asks for the token and refuses a wrong one", async () => {
		const page = await browser.newPage();
		await page.goto(`${stack.url}/admin`);
		await page.fill("#token", "not-the-token");
		await page.click("#login-form button");
		await expect.poll(() => page.textContent("#login-error")).toMatch(/refused/);
		expect(await page.isVisible("#app")).toBe(false);
		await page.close();
	});

	it("lists deployments, charts a deployment's traffic and acts on it", async () => {
		const page = await browser.newPage();
		const errors: string[] = [];
		page.on("pageerror", (error) => errors.push(error.message));
		await page.goto(`${stack.url}/admin`);
		await page.fill("#token", stack.adminToken);
		await page.click("#login-form button");
		await page.waitForSelector('#deployments tr[data-name="dash-canary"]');
		expect(await page.textContent('#deployments tr[data-name="dash-canary"] .status')).toBe(
			"running",
		);

		await page.click('#deployments tr[data-name="dash-canary"] a');
		await page.waitForSelector("#detail:not([hidden])");
		expect(await page.textContent("#detail-state")).toMatch(/^running at 50 %/);
		expect(await page.textContent("#detail-summary")).toMatch(/Guardrails: error_rate/);
		// One line per variant on the requests chart, drawn from /metrics.
		await page.waitForSelector('svg.chart polyline[data-variant="candidate"]', {
			state: "attached",
		});
		expect(await page.locator('svg[aria-label="Requests per minute"] polyline').count()).toBe(2);

		await page.click('button[data-action="pause"]');
		await expect.poll(() => page.getAttribute("#detail-state", "data-status")).toBe("paused");
		await page.click('button[data-action="resume"]');
		await expect.poll(() => page.getAttribute("#detail-state", "data-status")).toBe("running");
		await page.click('button[data-action="start"]');
		await expect
			.poll(() => page.textContent("#action-error"))
			.toMatch(/cannot start a rollout that is running/);
		expect(await page.textContent("#history")).toMatch(/admin:resume/);
		expect(errors).toEqual([]);
		await page.close();
	});

	it("serves the page with a nonce-based content security policy", async () => {
		const res = await fetch(`${stack.url}/admin`);
		expect(res.headers.get("content-type")).toMatch(/text\/html/);
		expect(res.headers.get("content-security-policy")).toMatch(/script-src 'nonce-/);
		expect(await res.text()).not.toMatch(new RegExp(stack.adminToken));
	});
});
