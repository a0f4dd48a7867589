/**
 * The CLI against a real worker (the router and demo models in workerd via
 * Miniflare, started for this file), checking output and exit codes.
 */
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../scripts/cli/main";
import { ROOT } from "../../scripts/lib/edge";
import {
	buildWorker,
	COMPATIBILITY_DATE,
	STACK_WEBHOOK_SECRET,
	type Stack,
	startDemoStack,
} from "../../scripts/lib/stack";
import { startTicker } from "../../scripts/lib/ticker";

let stack: Stack;
let work: string;
/** The test webhook receiver (test/workers/webhooks.ts) on its own loopback socket. */
let hooks: URL;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), "switchyard-cli-"));
	const receiver = await buildWorker(
		"test/workers/webhooks.ts",
		join(work, "hooks", "webhooks.js"),
	);
	stack = await startDemoStack(
		join(work, "build"),
		{ CONFIG_TTL_SECONDS: "0", METRICS_FLUSH_MS: "0", INGEST_PUSH_MS: "0", INGEST_FORWARD_MS: "0" },
		[
			{
				name: "webhooks",
				modules: true,
				scriptPath: receiver,
				modulesRoot: join(work, "hooks"),
				compatibilityDate: COMPATIBILITY_DATE,
				unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
			},
		],
	);
	hooks = await stack.miniflare.unsafeGetDirectURL("webhooks");
}, 120_000);

afterAll(async () => {
	await stack?.dispose();
	rmSync(work, { recursive: true, force: true });
});

async function cli(...args: string[]) {
	const out: string[] = [];
	const err: string[] = [];
	const code = await main(args, {
		out: (t) => out.push(t),
		err: (t) => err.push(t),
		env: { SWITCHYARD_URL: stack.url, SWITCHYARD_TOKEN: stack.adminToken },
		cwd: work,
		sleep: () => Promise.resolve(),
	});
	return { code, out: out.join("\n"), err: err.join("\n") };
}

/** What the webhook receiver got for a deployment. */
async function hooksReceived(name: string) {
	const res = await fetch(new URL(`/__hooks/received?key=${name}`, hooks));
	return (await res.json()) as { event: string; signature: string; body: string }[];
}

function specFile(name: string, spec: object): string {
	const file = `${name}.json`;
	writeFileSync(
		join(work, file),
		JSON.stringify({
			name,
			champion: { version: "v1", service: "MODEL_V1" },
			candidate: { version: "v2", service: "MODEL_V2" },
			...spec,
		}),
	);
	return file;
}

describe("usage", () => {
	it("prints help for every command and exits 0", async () => {
		for (const command of [
			"status",
			"apply",
			"start",
			"pause",
			"resume",
			"promote",
			"abort",
			"finalize",
			"approve",
			"weight",
			"history",
			"report",
			"watch",
			"wait",
			"delete",
		]) {
			const { code, out } = await cli(command, "--help");
			expect(code).toBe(0);
			expect(out).toMatch(new RegExp(`usage: switchyard ${command}`));
		}
		expect((await cli("--help")).code).toBe(0);
	});

	it("says a usage error on its own line, then the command's usage after a blank line", async () => {
		const { code, err } = await cli("weight", "a", "lots");
		expect(code).toBe(2);
		expect(err.split("\n").slice(0, 3)).toEqual([
			'error: weight: "lots" is not a percentage between 0 and 100',
			"",
			"usage: switchyard weight NAME PERCENT [--reason TEXT]",
		]);
		expect((await cli("--bogus")).err).toMatch(
			/^error: .*'--bogus'.*\n\nusage: switchyard <command>/,
		);
	});

	it("reads a spec file given by an absolute path, wherever it is run from", async () => {
		const file = join(work, specFile("cli-absolute", { strategy: "canary" }));
		const applied = await main(["apply", "-f", file], {
			out: () => {},
			err: () => {},
			env: { SWITCHYARD_URL: stack.url, SWITCHYARD_TOKEN: stack.adminToken },
			cwd: ROOT,
			sleep: () => Promise.resolve(),
		});
		expect(applied).toBe(0);
		expect((await cli("status", "cli-absolute")).out).toMatch(/cli-absolute\s+canary\s+pending/);
	});

	it("exits 2 for an unknown command, a missing argument, an extra argument or a bad weight", async () => {
		expect(await cli("launch")).toMatchObject({
			code: 2,
			err: expect.stringMatching(/unknown command "launch"/),
		});
		expect(await cli("start")).toMatchObject({
			code: 2,
			err: expect.stringMatching(/missing argument/),
		});
		expect(await cli("start", "a", "b")).toMatchObject({
			code: 2,
			err: expect.stringMatching(/unexpected argument "b"/),
		});
		expect(await cli("weight", "a", "lots")).toMatchObject({
			code: 2,
			err: expect.stringMatching(/not a percentage/),
		});
		expect(await cli("apply")).toMatchObject({
			code: 2,
			err: expect.stringMatching(/-f FILE is required/),
		});
		expect((await cli("status", "--bogus")).code).toBe(2);
		expect((await cli()).code).toBe(2);
	});
});

describe("managing a rollout", () => {
	it("applies a spec, starts it, sets a weight, promotes it and shows the history", async () => {
		const applied = await cli("apply", "-f", specFile("cli-canary", { strategy: "canary" }));
		expect(applied).toMatchObject({
			code: 0,
			out: expect.stringMatching(/^created cli-canary; the edge uses it within 0 s/),
		});
		expect((await cli("apply", "-f", "cli-canary.json")).out).toMatch(/^updated cli-canary/);

		expect(await cli("start", "cli-canary", "--reason", "release 42")).toMatchObject({
			code: 0,
			out: expect.stringMatching(/running at 1 % — release 42/),
		});
		expect((await cli("weight", "cli-canary", "25")).out).toMatch(/running at 25 % \(step 2\)/);

		const status = await cli("status");
		expect(status.code).toBe(0);
		expect(status.out).toMatch(
			/^NAME\s+STRATEGY\s+STATUS\s+WEIGHT\s+STEP\s+LAST DECISION\s+REASON/,
		);
		expect(status.out).toMatch(/cli-canary\s+canary\s+running\s+25 %\s+2\s+admin:weight/);
		const json = JSON.parse((await cli("status", "cli-canary", "--json")).out);
		expect(json).toMatchObject({ name: "cli-canary", status: "running", weight: 25 });

		expect((await cli("promote", "cli-canary")).out).toMatch(/promoted at 100 %/);
		const history = await cli("history", "cli-canary");
		expect(history.out.split("\n")[0]).toMatch(/^TIME\s+WHO\s+WHAT\s+FROM → TO\s+REASON/);
		expect(history.out).toMatch(/admin\s+admin:promote\s+running 25 % → promoted 100 %/);
		expect(history.out).toMatch(/admin:start\s+pending 0 % → running 1 %\s+release 42/);
	});

	it("exits 1 with the API's message when a transition is refused", async () => {
		await cli("apply", "-f", specFile("cli-refused", { strategy: "canary" }));
		await cli("start", "cli-refused");
		expect((await cli("abort", "cli-refused")).code).toBe(0);
		const refused = await cli("resume", "cli-refused");
		expect(refused).toMatchObject({
			code: 1,
			err: "error: cannot resume a rollout that is aborted (409 invalid_transition)",
		});
	});

	it("prints each validation issue with its path", async () => {
		const file = specFile("cli-invalid", { strategy: "canary", canary: { steps: [50, 5] } });
		const result = await cli("apply", "-f", file);
		expect(result.code).toBe(1);
		expect(result.err).toMatch(/400 invalid_spec/);
		expect(result.err).toMatch(/canary\.steps: steps must increase/);
	});

	it("watches until the rollout ends", async () => {
		await cli("apply", "-f", specFile("cli-watch", { strategy: "canary" }));
		await cli("start", "cli-watch");
		await cli("abort", "cli-watch", "--reason", "bad numbers");
		const watched = await cli("watch", "cli-watch", "--interval", "1");
		expect(watched.code).toBe(0);
		expect(watched.out).toMatch(/aborted at 0 % \(step 0\) — admin:abort: bad numbers/);
	});
});

describe("approval gates", () => {
	it("approves a held canary, which steps up at once and tells the webhook, signed", async () => {
		const name = "cli-gated";
		const file = specFile(name, {
			strategy: "canary",
			assignment: { unit: "header", header: "x-user-id" },
			canary: { steps: [10, 50, 100], minRequests: 3, bakeSeconds: 0, approvalBefore: [50] },
			notify: [{ url: new URL(`/hooks/${name}`, hooks).toString() }],
		});
		expect((await cli("apply", "-f", file)).code).toBe(0);
		expect((await cli("start", name)).code).toBe(0);
		// 200 fixed users: the same ones land on the candidate at 10 % in every run.
		for (let i = 0; i < 200; i++) {
			const res = await fetch(`${stack.url}/v1/models/${name}/predict`, {
				method: "POST",
				headers: { "x-user-id": `user-${i}` },
				body: JSON.stringify({ text: "a great day" }),
			});
			await res.arrayBuffer();
		}
		await expect
			.poll(async () => {
				const report = JSON.parse((await cli("report", name, "--json")).out);
				return report.analysis.step.champion + report.analysis.step.candidate;
			})
			.toBe(200);
		await fetch(`${stack.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`);
		const status = await cli("status", name);
		expect(status.out).toMatch(/running\s+10 %\s+0\s+hold \S+\s+awaiting approval to go to 50 %/);
		expect(await cli("wait", name, "--until", "awaiting_approval")).toMatchObject({ code: 0 });

		const approved = await cli("approve", name, "--reason", "looked at the numbers");
		expect(approved).toMatchObject({
			code: 0,
			out: expect.stringMatching(/^cli-gated: running at 50 %/),
		});
		expect((await cli("approve", name)).err).toMatch(
			/the next step \(100 %\) needs no approval \(canary.approvalBefore: \[50\]\) \(409 invalid_transition\)/,
		);

		await expect.poll(async () => (await hooksReceived(name)).length).toBe(4);
		const list = await hooksReceived(name);
		expect(list.map((r) => r.event)).toEqual(["start", "awaiting_approval", "approved", "step_up"]);
		for (const r of list)
			expect(r.signature).toBe(
				`sha256=${createHmac("sha256", STACK_WEBHOOK_SECRET).update(r.body).digest("hex")}`,
			);
		const history = await cli("history", name);
		expect(history.out).toMatch(/admin:approve .*looked at the numbers\s+approved delivered/);
	});
});

describe("the local controller clock (npm start)", () => {
	it("runs the controller by itself: a started canary gets the controller's decisions with no one firing the cron", async () => {
		const name = "cli-ticking";
		await cli("apply", "-f", specFile(name, { strategy: "canary" }));
		await cli("start", name);
		const ticks: number[] = [];
		const ticker = startTicker({
			url: stack.url,
			everyMs: 200,
			onTick: ({ status }) => ticks.push(status ?? 0),
		});
		try {
			await expect
				.poll(
					async () => {
						const entries = JSON.parse((await cli("history", name, "--json")).out) as {
							actor: string;
						}[];
						return entries.some((e) => e.actor === "controller");
					},
					{ timeout: 30_000, interval: 200 },
				)
				.toBe(true);
		} finally {
			ticker.stop();
		}
		expect(ticks.length).toBeGreaterThan(0);
		expect(ticks.every((status) => status === 200)).toBe(true);
		const stopped = ticker.ticks;
		await new Promise((r) => setTimeout(r, 500));
		expect(ticker.ticks).toBe(stopped);
	});
});

describe("reports", () => {
	it("lays out the analysis of each strategy for a person", async () => {
		await cli("apply", "-f", specFile("cli-ab", { strategy: "ab" }));
		await cli("start", "cli-ab");
		const ab = await cli("report", "cli-ab");
		expect(ab.code).toBe(0);
		expect(ab.out).toMatch(/A\/B test at 50 % — verdict: no_difference_yet/);
		expect(ab.out).toMatch(
			/metric\s+champion\s+candidate\s+difference \[95 % CI\]\s+relative \[95 % CI\]\s+p \(fixed\)\s+p \(always-valid\)/,
		);

		await cli("apply", "-f", specFile("cli-report-canary", { strategy: "canary" }));
		await cli("start", "cli-report-canary");
		const canary = await cli("report", "cli-report-canary");
		expect(canary.out).toMatch(/canary step 0 at 1 %/);
		expect(canary.out).toMatch(
			/guardrail\s+status\s+champion\s+candidate\s+allowed\s+p \(always-valid\)/,
		);
		expect(canary.out).toMatch(/error_rate\s+insufficient/);

		await cli("apply", "-f", specFile("cli-shadow", { strategy: "shadow" }));
		await cli("start", "cli-shadow");
		const shadow = await cli("report", "cli-shadow");
		expect(shadow.out).toMatch(/shadow: 0 of 0 comparable answers agree/);
		expect(JSON.parse((await cli("report", "cli-shadow", "--json")).out)).toMatchObject({
			analysis: { strategy: "shadow" },
		});
	});
});

describe("wait, for CI", () => {
	it("exits 0 once the state is reached, 1 when the rollout ended elsewhere, 3 on timeout", async () => {
		const name = "cli-wait";
		const applied = await cli(
			"apply",
			"-f",
			specFile(name, { strategy: "canary" }),
			"--wait",
			"running",
		);
		expect(applied.code).toBe(0);
		expect(applied.out).toMatch(/created cli-wait/);
		expect(applied.out).toMatch(/cli-wait: running at 1 % — started: canary at 1 %/);
		expect(applied.out).toMatch(/running at 1 % \(step 0\)/);

		const lines: string[] = [];
		const timedOut = await main(
			["wait", name, "--until", "promoted", "--timeout", "1", "--interval", "0.2"],
			{
				out: (t) => lines.push(t),
				err: () => {},
				env: { SWITCHYARD_URL: stack.url, SWITCHYARD_TOKEN: stack.adminToken },
				cwd: work,
				sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
			},
		);
		expect(timedOut).toBe(3);
		expect(lines.at(-1)).toMatch(/timed out after 1 s waiting for promoted/);

		expect((await cli("abort", name)).code).toBe(0);
		const ended = await cli("wait", name, "--until", "promoted");
		expect(ended.code).toBe(1);
		expect(ended.out).toMatch(/cli-wait ended aborted, not promoted/);
		expect((await cli("wait", name, "--until", "aborted")).code).toBe(0);
	});

	it("refuses an unknown state or a bad timeout as a usage error", async () => {
		expect(await cli("wait", "x", "--until", "done")).toMatchObject({
			code: 2,
			err: expect.stringMatching(/"done" is not one of pending, shadowing, running/),
		});
		expect((await cli("wait", "x")).err).toMatch(/--until STATE is required/);
		expect((await cli("wait", "x", "--until", "running", "--timeout", "-1")).code).toBe(2);
	});
});

describe("LLM answers in the report", () => {
	it("shows each variant's TTFT, tokens and cost whenever they were measured, guardrail or not", async () => {
		const name = "cli-chat";
		await cli(
			"apply",
			"-f",
			specFile(name, {
				strategy: "canary",
				champion: {
					version: "chat-v1",
					service: "MODEL_CHAT",
					price: { inputPer1M: 1, outputPer1M: 2 },
				},
				candidate: {
					version: "chat-v2",
					service: "MODEL_CHAT_V2",
					price: { inputPer1M: 1, outputPer1M: 2 },
				},
				canary: { steps: [50, 100] },
			}),
		);
		await cli("start", name);
		for (let i = 0; i < 6; i++) {
			const res = await fetch(`${stack.url}/v1/models/${name}/v1/chat/completions`, {
				method: "POST",
				headers: { "content-type": "application/json", "x-user-id": `chat-user-${i}` },
				body: JSON.stringify({
					model: "m",
					stream: true,
					stream_options: { include_usage: true },
					messages: [{ role: "user", content: "hi" }],
				}),
			});
			await res.text();
		}
		await expect
			.poll(async () => (await cli("report", name)).out, { timeout: 20_000 })
			.toMatch(/answers \(mean per request/);
		const { out } = await cli("report", name);
		expect(out).toMatch(
			/variant\s+TTFT p50\s+TTFT p95\s+duration\s+prompt\s+completion\s+speed\s+cost/,
		);
		expect(out).toMatch(/(champion|candidate)\s+\d+\.\d ms\s+\d+\.\d ms/);
	});
});

describe("configuration", () => {
	it("exits 1 with a wrong token or an unreachable edge", async () => {
		const wrong = await main(["status"], {
			out: () => {},
			err: () => {},
			env: { SWITCHYARD_URL: stack.url, SWITCHYARD_TOKEN: "wrong" },
			cwd: work,
			sleep: () => Promise.resolve(),
		});
		expect(wrong).toBe(1);
		const errors: string[] = [];
		const unreachable = await main(["status", "--url", "http://127.0.0.1:1"], {
			out: () => {},
			err: (t) => errors.push(t),
			env: {},
			cwd: work,
			sleep: () => Promise.resolve(),
		});
		expect(unreachable).toBe(1);
		expect(errors[0]).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
	});

	it("runs as the `switchyard` bin on the pinned Node", () => {
		const help = spawnSync(process.execPath, [join(ROOT, "bin", "switchyard.js"), "--help"], {
			encoding: "utf8",
		});
		expect(help.status).toBe(0);
		expect(help.stdout).toMatch(/usage: switchyard <command>/);
		const bad = spawnSync(process.execPath, [join(ROOT, "bin", "switchyard.js"), "nope"], {
			encoding: "utf8",
		});
		expect(bad.status).toBe(2);
	});
});
