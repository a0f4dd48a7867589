import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBench } from "../../scripts/bench/run";

describe("npm run bench (short run)", () => {
	it("measures both workers under load, counts platform operations and times the cron", async () => {
		const workDir = mkdtempSync(join(tmpdir(), "switchyard-bench-test-"));
		try {
			const results = await runBench({
				workDir,
				duration: 1,
				rounds: 1,
				connections: 4,
				cronDeployments: 5,
				rate: 100,
			});
			for (const scenario of [results.scenarios.canary5, results.scenarios.shadow]) {
				expect(scenario.rps.switchyard).toBeGreaterThan(0);
				expect(scenario.rps.bare).toBeGreaterThan(0);
				expect(scenario.throughputRatio).toBeCloseTo(
					scenario.rps.switchyard / scenario.rps.bare,
					6,
				);
				expect(scenario.rounds[0]?.switchyard.errors).toBe(0);
				expect(scenario.rounds[0]?.bare.errors).toBe(0);
				// A fresh isolate reads the index (one key) and each deployment's config (both keys in
				// one request): never more than two keys a request.
				const { kvRequests, kvKeysRead } = scenario.platformPer1000Predictions;
				expect(kvRequests).toBeGreaterThan(0);
				expect(kvKeysRead).toBeGreaterThan(kvRequests);
				expect(kvKeysRead).toBeLessThanOrEqual(2 * kvRequests);
				expect(Number.isFinite(scenario.latencyMs.p99.added)).toBe(true);
				expect(scenario.latencyMs.rate).toBe(100);
				expect(scenario.rounds[0]?.switchyardAtRate.errors).toBe(0);
				expect(scenario.latencyMs.p50.switchyard).toBeGreaterThan(0);
			}
			// Every prediction ends up in a batch to an ingest shard: the router's object requests are
			// those flushes, as many as the capacity model predicts at the measured rate.
			const canary = results.scenarios.canary5.platformPer1000Predictions;
			expect(canary.ingestRequests).toBeGreaterThan(0);
			expect(canary.durableObjectRequests).toBeGreaterThanOrEqual(canary.ingestRequests);
			expect(canary.ingestRequests / canary.modelIngestRequests).toBeGreaterThan(0.75);
			expect(canary.ingestRequests / canary.modelIngestRequests).toBeLessThan(1.25);
			expect(results.cron).toMatchObject({ deployments: 5, seconds: expect.any(Number) });
		} finally {
			rmSync(workDir, { recursive: true, force: true });
		}
	});
});
