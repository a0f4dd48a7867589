/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against the router and demo models in workerd (Miniflare). Checks the
 * values shown against the admin API's own report, and writes a screenshot
 * of each view to docs/screenshots/ for people to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROOT } from "../../scripts/lib/edge";
import { type Stack, startDemoStack } from "../../scripts/lib/stack";

/** A UI round trip to the local stack (an admin call, then a re-render): slow on a loaded machine, never a timing assertion. */
const UI = { timeout: 10_000, interval: 50 };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(ROOT, "docs", "screenshots");
let stack: Stack;
let browser: Browser;
let work: string;

type Json = Record<string, unknown>;

async function admin<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
	const res = await fetch(`${stack.url}/admin/api${path}`, {
		method,
		headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return (await res.json()) as T;
}

const base = {
	champion: { version: "v1", service: "MODEL_V1" },
	candidate: { version: "v2", service: "MODEL_V2" },
	assignment: { unit: "header", header: "x-user-id" },
};

/** Predictions from fixed users (the same ones land on the candidate in every run). */
async function traffic(name: string, users: number, text: (i: number) => string) {
	const ids: { requestId: string; variant: string }[] = [];
	for (let i = 0; i < users; i++) {
		const res = await fetch(`${stack.url}/v1/models/${name}/predict`, {
			method: "POST",
			headers: { "x-user-id": `user-${i}` },
			body: JSON.stringify({ text: text(i) }),
		});
		await res.arrayBuffer();
		ids.push({
			requestId: res.headers.get("x-request-id") ?? "",
			variant: res.headers.get("x-model-variant") ?? "",
		});
	}
	return ids;
}

async function waitForRequests(name: string, count: number, variants = ["champion", "candidate"]) {
	await vi.waitFor(
		async () => {
			const { rows } = await admin<{ rows: { variant: string; requests: number }[] }>(
				"GET",
				`/deployments/${name}/metrics`,
			);
			const total = rows
				.filter((r) => variants.includes(r.variant))
				.reduce((s, r) => s + r.requests, 0);
			if (total < count) throw new Error(`${total} of ${count} requests stored`);
		},
		{ timeout: 10_000, interval: 50 },
	);
}

beforeAll(async () => {
	if (!existsSync(CHROMIUM))
		throw new Error(
			`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
		);
	mkdirSync(SCREENSHOTS, { recursive: true });
	work = mkdtempSync(join(tmpdir(), "switchyard-dashboard-"));
	stack = await startDemoStack(join(work, "build"), {
		CONFIG_TTL_SECONDS: "0",
		METRICS_FLUSH_MS: "0",
		INGEST_PUSH_MS: "0",
		INGEST_FORWARD_MS: "0",
	});
	// A canary held at its approval gate before the promotion.
	await admin("PUT", "/deployments/dash-canary", {
		name: "dash-canary",
		strategy: "canary",
		...base,
		canary: { steps: [50, 100], minRequests: 20, bakeSeconds: 0, approvalBefore: [100] },
	});
	await admin("POST", "/deployments/dash-canary/start");
	await traffic("dash-canary", 120, () => "a great day");
	await waitForRequests("dash-canary", 120);
	await fetch(`${stack.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`);
	// An A/B test with conversions: 30 % of the champion's users, 45 % of the candidate's.
	await admin("PUT", "/deployments/dash-ab", { name: "dash-ab", strategy: "ab", ...base });
	await admin("POST", "/deployments/dash-ab/start");
	const served = await traffic("dash-ab", 300, () => "a great day");
	await waitForRequests("dash-ab", 300);
	for (const [i, { requestId, variant }] of served.entries()) {
		const converted = variant === "candidate" ? i % 20 < 9 : i % 10 < 3;
		await fetch(`${stack.url}/v1/feedback`, {
			method: "POST",
			body: JSON.stringify({ requestId, value: converted ? 1 : 0 }),
		});
	}
	// A shadow whose versions disagree on negations.
	await admin("PUT", "/deployments/dash-shadow", {
		name: "dash-shadow",
		strategy: "shadow",
		...base,
		shadow: { compare: { field: "label" } },
	});
	await admin("POST", "/deployments/dash-shadow/start");
	await traffic("dash-shadow", 40, (i) => (i % 4 === 0 ? "not good at all" : "a great day"));
	await waitForRequests("dash-shadow", 40, ["shadow"]);

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

/** A laptop-sized page, logged in, with page errors collected. */
async function openDashboard(hash = ""): Promise<{ page: Page; errors: string[] }> {
	const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
	const errors: string[] = [];
	page.on("pageerror", (error) => errors.push(error.message));
	await page.goto(`${stack.url}/admin`);
	await page.fill("#token", stack.adminToken);
	await page.click("#login-form button");
	await page.waitForSelector('#deployments tr[data-name="dash-canary"]');
	if (hash) {
		await page.goto(`${stack.url}/admin${hash}`);
		await page.waitForSelector('#deployments tr[data-name="dash-canary"]');
	}
	return { page, errors };
}

async function selectDeployment(page: Page, name: string) {
	await page.click(`#deployments tr[data-name="${name}"] a`);
	await expect.poll(() => page.textContent("#detail-title"), UI).toBe(name);
	await page.waitForSelector("#evidence");
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
/** An amount in the prices' currency (any: "¤"), three significant digits, at least two decimals. */
const currency = (x: number) =>
	`¤${x.toFixed(x === 0 ? 2 : Math.max(2, 2 - Math.floor(Math.log10(Math.abs(x)))))}`;
const pval = (p: number) => (p >= 1e-4 ? p.toFixed(4) : p.toExponential(1));

interface Guardrail {
	name: string;
	status: string;
	champion: number;
	candidate: number;
	pValue: number;
	margin: number;
	alpha: number;
}

describe("the /admin dashboard", () => {
	it("asks for the token and refuses a wrong one", async () => {
		const page = await browser.newPage();
		await page.goto(`${stack.url}/admin`);
		await page.fill("#token", "not-the-token");
		await page.click("#login-form button");
		await expect.poll(() => page.textContent("#login-error"), UI).toMatch(/refused/);
		expect(await page.isVisible("#app")).toBe(false);
		await page.close();
	});

	it("shows a canary's evidence with the API's values, its step progress and its gate, and approves it", async () => {
		const { page, errors } = await openDashboard();
		await selectDeployment(page, "dash-canary");
		const report = await admin<{
			analysis: { guardrails: Guardrail[]; step: { candidate: number; champion: number } };
		}>("GET", "/deployments/dash-canary");
		const { guardrails, step } = report.analysis;
		expect(guardrails.map((g) => g.name)).toEqual(["error_rate", "latency_p95"]);
		for (const g of guardrails) {
			const row = `#evidence tr[data-metric="${g.name}"]`;
			const unit = g.name === "error_rate" ? pct : ms;
			expect(await page.textContent(`${row} .champion`)).toBe(unit(g.champion));
			expect(await page.textContent(`${row} .candidate`)).toBe(unit(g.candidate));
			expect(await page.textContent(`${row} .p`)).toBe(pval(g.pValue));
			expect(await page.textContent(`${row} .alpha`)).toBe(g.alpha.toFixed(4));
			const verdict = g.status === "fail" ? "bad" : g.status === "pass" ? "good" : "neutral";
			expect(await page.getAttribute(row, "data-verdict")).toBe(verdict);
			expect(await page.getAttribute(`${row} svg.interval`, "class")).toBe(`interval ${verdict}`);
		}
		// The latency margin is the API's (10 % of the champion's p95, at least 1 ms); the
		// error-rate margin the spec's default 0 pp.
		const latency = guardrails.find((g) => g.name === "latency_p95");
		expect(await page.textContent('#evidence tr[data-metric="latency_p95"] .margin')).toBe(
			`+${latency?.margin.toFixed(1)} ms`,
		);
		expect(await page.textContent('#evidence tr[data-metric="error_rate"] .margin')).toBe(
			"+0.00 pp",
		);

		expect(await page.textContent("#candidate-requests .progress-text")).toBe(
			`${step.candidate} of 20`,
		);
		expect(await page.getAttribute("#candidate-requests-bar", "value")).toBe(
			String(Math.min(step.candidate, 20)),
		);
		expect(await page.textContent("#champion-requests .progress-text")).toBe(
			`${step.champion} of 20`,
		);
		expect(await page.textContent("#bake .progress-text")).toMatch(/^\d+ of 0 s$/);
		expect(await page.textContent("#approval")).toMatch(
			/^awaiting approval to go to 100 %: 50 % passed/,
		);

		// Charts with time axes and units; the weight chart marks the decisions.
		const requests = page.locator('svg[aria-label="Requests per minute"]');
		expect(await requests.locator("polyline").count()).toBe(2);
		expect(await requests.locator("text.x-tick").first().textContent()).toMatch(/^\d\d:\d\d$/);
		expect(await requests.locator("text.y-tick").last().textContent()).toMatch(/ req\/min$/);
		expect(
			await page
				.locator('svg[aria-label="p95 latency per minute"] text.y-tick')
				.last()
				.textContent(),
		).toMatch(/ ms$/);
		const weight = page.locator('svg[aria-label="Candidate weight over time, with each decision"]');
		expect(
			await weight.locator("g.mark").evaluateAll((g) => g.map((n) => n.getAttribute("data-kind"))),
		).toEqual(["admin:start", "hold"]);
		expect(await weight.locator("text.y-tick").last().textContent()).toBe("100.0 %");
		await page.screenshot({ path: join(SCREENSHOTS, "canary.png"), fullPage: true });

		await page.click('#approval button[data-action="approve"]');
		await expect.poll(() => page.textContent("#history"), UI).toMatch(/admin:approve/);
		// An approval sets the state's since, from which the step's requests are counted (by
		// minute): when it lands in a later minute than the step's traffic, the step waits for its
		// minimum requests again. Traffic after the approval and a cron run promote it either way.
		await traffic("dash-canary", 120, () => "a great day");
		await waitForRequests("dash-canary", 240);
		await fetch(`${stack.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`);
		await expect.poll(() => page.getAttribute("#detail-state", "data-status"), UI).toBe("promoted");
		expect(errors).toEqual([]);
		await page.close();
	});

	it("shows each guardrail in the unit its report row declares: p99 and TTFT in ms, cost in currency", async () => {
		// A canary of the demo chat models with prices, guarding p95 and p99 latency, TTFT and cost.
		await admin("PUT", "/deployments/dash-chat", {
			name: "dash-chat",
			strategy: "canary",
			champion: {
				version: "chat-v1",
				service: "MODEL_CHAT",
				price: { inputPer1M: 0.2, outputPer1M: 0.6 },
			},
			candidate: {
				version: "chat-v2",
				service: "MODEL_CHAT_V2",
				price: { inputPer1M: 0.15, outputPer1M: 0.6 },
			},
			assignment: { unit: "header", header: "x-user-id" },
			canary: {
				steps: [50, 100],
				minRequests: 20,
				bakeSeconds: 3600,
				latencyQuantiles: [0.95, 0.99],
				ttft: {},
				maxCostIncreasePct: 10,
			},
		});
		await admin("POST", "/deployments/dash-chat/start");
		for (let i = 0; i < 60; i++) {
			const res = await fetch(`${stack.url}/v1/models/dash-chat/v1/chat/completions`, {
				method: "POST",
				headers: { "x-user-id": `user-${i}`, "content-type": "application/json" },
				body: JSON.stringify({
					// Prompts and answers of different lengths: costs that vary (a cost test needs variance).
					messages: [{ role: "user", content: `question ${"and more ".repeat(i % 5)}${i}` }],
					stream: true,
					max_tokens: 2 + (i % 3),
					stream_options: { include_usage: true },
				}),
			});
			await res.arrayBuffer();
		}
		await waitForRequests("dash-chat", 60);
		const { analysis } = await admin<{
			analysis: { guardrails: (Guardrail & { label: string; unit: string })[] };
		}>("GET", "/deployments/dash-chat");
		const byName = new Map(analysis.guardrails.map((g) => [g.name, g]));
		const { page, errors } = await openDashboard();
		await selectDeployment(page, "dash-chat");
		for (const [name, label, unit, format] of [
			["latency_p99", "latency p99", "ms", ms],
			["ttft_p95", "TTFT p95", "ms", ms],
			["cost", "cost per request", "currency", currency],
		] as const) {
			const g = byName.get(name);
			expect(g, name).toMatchObject({ label, unit });
			if (!g) continue;
			// Real values (not "—"): the formatting is what is under test.
			expect(Number.isFinite(g.champion) && Number.isFinite(g.candidate), name).toBe(true);
			const row = `#evidence tr[data-metric="${name}"]`;
			expect(await page.textContent(`${row} th`)).toBe(label);
			expect(await page.textContent(`${row} .champion`)).toBe(format(g.champion));
			expect(await page.textContent(`${row} .candidate`)).toBe(format(g.candidate));
		}
		expect(await page.textContent('#evidence tr[data-metric="cost"] .champion')).toMatch(
			/^¤0\.0\d+$/,
		);
		expect(await page.textContent('#evidence tr[data-metric="ttft_p95"] .margin')).toMatch(
			/^\+\d+\.\d ms$/,
		);
		expect(errors).toEqual([]);
		await page.close();
	});

	it("shows an A/B test's metrics with both arms, the difference, its interval and the verdict", async () => {
		const { page, errors } = await openDashboard();
		await selectDeployment(page, "dash-ab");
		const { analysis } = await admin<{
			analysis: {
				metrics: {
					metric: string;
					champion: number;
					candidate: number;
					ci: (number | null)[];
					alwaysValidPValue: number;
				}[];
				verdict: string;
			};
		}>("GET", "/deployments/dash-ab");
		const feedback = analysis.metrics.find((m) => m.metric === "feedback");
		if (!feedback) throw new Error("no feedback metric");
		const row = '#evidence tr[data-metric="feedback"]';
		expect(await page.textContent(`${row} th`)).toBe("feedback (decision metric)");
		expect(await page.textContent(`${row} .champion`)).toBe(feedback.champion.toFixed(4));
		expect(await page.textContent(`${row} .candidate`)).toBe(feedback.candidate.toFixed(4));
		expect(await page.textContent(`${row} .p`)).toMatch(
			new RegExp(`^${pval(feedback.alwaysValidPValue)}`),
		);
		expect(await page.textContent(`${row} .alpha`)).toBe("0.05");
		// The colour is the decision's: the always-valid p at α = 0.05, higher feedback is better.
		const significant = feedback.alwaysValidPValue <= 0.05;
		const verdict = !significant
			? "neutral"
			: feedback.candidate > feedback.champion
				? "good"
				: "bad";
		expect(verdict === "neutral").toBe(analysis.verdict === "no_difference_yet");
		expect(await page.getAttribute(row, "data-verdict")).toBe(verdict);
		expect(await page.textContent("#detail-summary")).toMatch(
			new RegExp(`^Verdict: ${analysis.verdict}\\.`),
		);
		expect(await page.locator("#evidence tbody tr").count()).toBe(3);
		await page.screenshot({ path: join(SCREENSHOTS, "ab.png"), fullPage: true });

		// Actions from the buttons, and the API's refusal shown.
		await page.click('button[data-action="pause"]');
		await expect.poll(() => page.getAttribute("#detail-state", "data-status"), UI).toBe("paused");
		await page.click('button[data-action="resume"]');
		await expect.poll(() => page.getAttribute("#detail-state", "data-status"), UI).toBe("running");
		await page.click('button[data-action="start"]');
		await expect
			.poll(() => page.textContent("#action-error"))
			.toMatch(/cannot start a rollout that is running/);
		expect(errors).toEqual([]);
		await page.close();
	});

	it("shows a shadow's disagreements side by side", async () => {
		const { page, errors } = await openDashboard();
		await selectDeployment(page, "dash-shadow");
		await page.waitForSelector("#disagreements");
		// "not good at all": v1 counts "good", v2 understands the negation; 10 of the 40 inputs.
		expect(await page.locator("#disagreements tbody tr").count()).toBe(10);
		const first = "#disagreements tbody tr:first-child";
		expect(JSON.parse((await page.textContent(`${first} .champion-output`)) ?? "{}")).toMatchObject(
			{
				label: "positive",
			},
		);
		expect(
			JSON.parse((await page.textContent(`${first} .candidate-output`)) ?? "{}"),
		).toMatchObject({
			label: "negative",
		});
		expect(await page.textContent("#disagreements caption")).toBe(
			"10 of the 40 most recent comparisons disagree",
		);
		await page.screenshot({ path: join(SCREENSHOTS, "shadow.png"), fullPage: true });
		expect(errors).toEqual([]);
		await page.close();
	});

	it("can be used with the keyboard alone", async () => {
		const { page } = await openDashboard();
		await page.focus('#deployments tr[data-name="dash-shadow"] a');
		await page.keyboard.press("Enter");
		await expect.poll(() => page.textContent("#detail-title"), UI).toBe("dash-shadow");
		await page.close();
	});

	it("never sends a request outside /admin/api for a crafted fragment", async () => {
		const { page } = await openDashboard();
		const sent: { path: string; auth: boolean }[] = [];
		page.on("request", (request) => {
			const url = new URL(request.url());
			sent.push({ path: url.pathname, auth: "authorization" in request.headers() });
		});
		for (const hash of [
			"#../../../v1/models/dash-canary/predict",
			"#../../v1/models/dash-canary/predict",
			"#..%2F..%2Fv1%2Fmodels%2Fdash-canary%2Fpredict",
			"#%2e%2e/%2e%2e/v1/feedback",
			"#dash-canary/../../../v1/models/dash-canary/predict",
			"#//evil.example/x",
		]) {
			// A full load of the crafted link in the tab that holds the token.
			await page.goto("about:blank");
			await page.goto(`${stack.url}/admin${hash}`);
			await page.waitForSelector('#deployments tr[data-name="dash-canary"]');
			await expect.poll(() => page.textContent("#updated"), UI).toMatch(/^updated/);
			expect(await page.isVisible("#detail")).toBe(false);
		}
		expect(sent.length).toBeGreaterThan(0);
		for (const request of sent) {
			expect(request.path === "/admin" || request.path.startsWith("/admin/api/")).toBe(true);
			if (request.auth) expect(request.path.startsWith("/admin/api/")).toBe(true);
		}
		// A valid fragment still selects its deployment.
		await page.goto("about:blank");
		await page.goto(`${stack.url}/admin#dash-ab`);
		await expect.poll(() => page.textContent("#detail-title"), UI).toBe("dash-ab");
		await page.close();
	});

	it("serves the page with a nonce-based content security policy", async () => {
		const res = await fetch(`${stack.url}/admin`);
		expect(res.headers.get("content-type")).toMatch(/text\/html/);
		expect(res.headers.get("content-security-policy")).toMatch(/script-src 'nonce-/);
		expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
		expect(await res.text()).not.toMatch(new RegExp(stack.adminToken));
	});
});
