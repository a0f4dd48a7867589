/**
 * npm run demo's scenarios against the router and demo models in workerd
 * (Miniflare, started for the test; the real script starts `wrangler dev`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeOutcome, runDemo } from "../../scripts/demo/run";
import { type Stack, startDemoStack } from "../../scripts/lib/stack";

/** How long a scenario may run before the demo gives up on it. */
const SCENARIO_GUARD_SECONDS = 300;

let stack: Stack;
let work: string;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), "switchyard-demo-"));
	stack = await startDemoStack(join(work, "build"), {
		CONFIG_TTL_SECONDS: "1",
		METRICS_FLUSH_MS: "200",
		INGEST_PUSH_MS: "200",
		INGEST_FORWARD_MS: "100",
	});
}, 120_000);

afterAll(async () => {
	await stack?.dispose();
	rmSync(work, { recursive: true, force: true });
});

describe("npm run demo (against workerd)", () => {
	it(
		"promotes the healthy candidate, aborts the faulty one and the LLM slow to its first token",
		async () => {
			const lines: string[] = [];
			const result = await runDemo(
				{
					url: stack.url,
					token: stack.adminToken,
					feedbackToken: stack.feedbackToken,
					fireCron: async () => {
						await (
							await fetch(`${stack.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`)
						).arrayBuffer();
					},
				},
				{
					// A scenario ends when its rollout does (about 20 s for a healthy one here). This is only
					// a guard: with two CPU-bound neighbours the healthy one sat 100 s at 5 %, its traffic
					// too slow to fill the step's minimum requests.
					scenarioSeconds: SCENARIO_GUARD_SECONDS,
					cronEveryMs: 500,
					concurrency: 8,
					progress: (line) => lines.push(line),
				},
			);
			const [healthy, faulty, chat] = result.outcomes;
			expect(healthy, `${healthy?.reason} (weights ${healthy?.weights})`).toMatchObject({
				status: "promoted",
				ok: true,
			});
			expect(healthy?.weights).toEqual([5, 25, 50]);
			expect(faulty).toMatchObject({ status: "aborted", ok: true });
			expect(faulty?.reason).toMatch(/error_rate failed/);
			expect(faulty?.traffic.visitorsOnCandidate).toBeLessThan(faulty?.traffic.visitors ?? 0);
			expect(chat).toMatchObject({ status: "aborted", ok: true });
			expect(chat?.reason).toMatch(/ttft_p50 failed/);
			expect(result.ok).toBe(true);
			expect(lines.some((l) => /running at 25 %/.test(l))).toBe(true);
			expect(describeOutcome(faulty as NonNullable<typeof faulty>)).toMatch(
				/of whom ever saw the candidate \(aborted at 5 %\)/,
			);
		},
		(3 * SCENARIO_GUARD_SECONDS + 60) * 1000,
	);
});
