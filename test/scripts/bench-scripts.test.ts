import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBench } from "../../scripts/bench/run";

describe("npm run bench (short run)", () => {
	// Fixed-rate phases take their time whatever the machine; building, starting and profiling take
	// several times longer on a loaded one: a generous guard against a hang, not a budget.
	it("measures both workers under load, counts platform operations and times the cron", {
		timeout: 400_000,
	}, async () => {
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
			const { service, url } = results.modes;
			for (const scenario of [service.canary5, service.shadow, url.canary5, url.shadow]) {
				expect(scenario.rps.switchyard).toBeGreaterThan(0);
				expect(scenario.rps.bare).toBeGreaterThan(0);
				expect(scenario.throughputRatio).toBeCloseTo(
					scenario.rps.switchyard / scenario.rps.bare,
					6,
				);
				expect(scenario.rounds[0]?.switchyard.errors).toBe(0);
				expect(scenario.rounds[0]?.bare.errors).toBe(0);
				expect(Number.isFinite(scenario.latencyMs.p99.added)).toBe(true);
				// workerd's CPU per prediction, read from /proc: some, and not absurd.
				expect(scenario.cpuUsPerPrediction?.switchyard).toBeGreaterThan(0);
				expect(scenario.cpuUsPerPrediction?.bare).toBeGreaterThan(0);
				expect(scenario.cpuUsPerPrediction?.switchyard).toBeLessThan(100_000);
				expect(scenario.latencyMs.rate).toBe(100);
				expect(scenario.rounds[0]?.switchyardAtRate.errors).toBe(0);
				expect(scenario.latencyMs.p50.switchyard).toBeGreaterThan(0);
			}
			for (const counts of [
				results.platformPer1000Predictions.canary5,
				results.platformPer1000Predictions.shadow,
			]) {
				// A fresh isolate reads the index (one key) and each deployment's config (both keys in
				// one request): never more than two keys a request.
				expect(counts.kvRequests).toBeGreaterThan(0);
				expect(counts.kvKeysRead).toBeGreaterThan(counts.kvRequests);
				expect(counts.kvKeysRead).toBeLessThanOrEqual(2 * counts.kvRequests);
			}
			// The profile names the router's own functions among where its CPU goes.
			const names = results.profile?.top.map((e) => e.name) ?? [];
			expect(names.length).toBeGreaterThan(5);
			expect(results.profile?.busySamples).toBeGreaterThan(0);
			// Every prediction ends up in a batch to an ingest shard: the router's object requests are
			// those flushes, as many as the capacity model predicts at the measured rate.
			const canary = results.platformPer1000Predictions.canary5;
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
