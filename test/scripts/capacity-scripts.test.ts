import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Capacity } from "../../scripts/capacity/model";
import { ROOT } from "../../scripts/lib/edge";
import { runIngestLoad } from "../../scripts/load/run";

function capacityCli(args: string[]) {
	return spawnSync(
		process.execPath,
		["--import", "tsx", join(ROOT, "scripts", "capacity.ts"), ...args],
		{
			cwd: ROOT,
			encoding: "utf8",
		},
	);
}

describe("npm run capacity", () => {
	it("prints one JSON object with the figures scripts rely on", () => {
		const out = execFileSync(
			process.execPath,
			[
				"--import",
				"tsx",
				join(ROOT, "scripts", "capacity.ts"),
				"--rps",
				"1000000",
				"--isolates",
				"10000",
				"--feedback-share",
				"0.1",
				"--shards",
				"8",
				"--json",
			],
			{ cwd: ROOT, encoding: "utf8" },
		);
		const result = JSON.parse(out) as Capacity;
		expect(result.traffic).toMatchObject({ rps: 1_000_000, isolates: 10_000, shards: 8 });
		for (const key of [
			"maxRequestsPerSecondPerObject",
			"kvReadsPer1000",
			"objectRequestsPer1000",
			"costPerMillionPredictions",
		] as const) {
			expect(Number.isFinite(result[key])).toBe(true);
			expect(result[key]).toBeGreaterThan(0);
		}
		expect(result.maxRequestsPerSecondPerObject).toBeLessThanOrEqual(500);
		expect(result.objectRequestsPer1000).toBeLessThanOrEqual(10);
	});

	it("prints a table for people, with each goal and the cost per million predictions", () => {
		const run = capacityCli(["--rps", "100000", "--shards", "4"]);
		expect(run.status).toBe(0);
		expect(run.stdout).toMatch(/Capacity at 100,000 predictions\/s — 1 deployment, 1,000 isolates/);
		expect(run.stdout).toMatch(/requests\/s on one ingest shard +54\.0 .*≤ 500 ✓/);
		expect(run.stdout).toMatch(/cost per million predictions: \$0\.\d\d/);
	});

	it("answers a usage error with exit code 2", () => {
		for (const args of [["--rps", "fast"], ["--shards", "0"], ["--unknown"]]) {
			const run = capacityCli(args);
			expect(run.status).toBe(2);
			expect(run.stderr).toMatch(/usage: npm run capacity/);
		}
	});
});

describe("npm run load-test (short run)", () => {
	it("merges many isolates' concurrent flushes exactly, at the request rate the capacity model predicts", async () => {
		const workDir = mkdtempSync(join(tmpdir(), "switchyard-load-test-"));
		try {
			const result = await runIngestLoad({
				workDir,
				isolates: 40,
				seconds: 40,
				rate: 20,
				feedbackShare: 0.1,
				duplicateShare: 0.1,
				shards: 4,
				seed: 7,
			});
			expect(result.mismatches).toEqual([]);
			expect(result.exact).toBe(true);
			expect(result.predictions).toBeGreaterThan(25_000);
			expect(result.feedbackValues).toBeGreaterThan(2_500);
			const { mean, max } = result.perShardRequestsPerSecond;
			expect(mean / result.modelPerShardRequestsPerSecond).toBeGreaterThan(0.9);
			expect(mean / result.modelPerShardRequestsPerSecond).toBeLessThan(1.1);
			// Round robin from random starts: no shard far above the mean.
			expect(max / mean).toBeLessThan(1.2);
		} finally {
			rmSync(workDir, { recursive: true, force: true });
		}
	});
});
