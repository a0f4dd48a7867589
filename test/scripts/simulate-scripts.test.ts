import { describe, expect, it } from "vitest";
import { simulate } from "../../scripts/sim/run";
import { SCENARIOS } from "../../scripts/sim/scenarios";

describe("npm run simulate (short run)", () => {
	const results = simulate({ rollouts: 40, seed: 3 });
	const rule = (scenario: string, label: string) => {
		const found = results
			.find((r) => r.scenario === scenario)
			?.rules.find((r) => r.rule.startsWith(label));
		if (!found) throw new Error(`no result for ${scenario} / ${label}`);
		return found;
	};

	it("reports every scenario under every rule, with shares that add up", () => {
		expect(results.map((r) => r.scenario)).toEqual(SCENARIOS.map((s) => s.name));
		for (const result of results) {
			expect(result.rules.map((r) => r.rule.split(" ")[0])).toEqual([
				"switchyard",
				"naive",
				"flagger",
				"flagger",
			]);
			for (const r of result.rules) {
				expect(r.rollouts).toBe(40);
				expect(r.aborted + r.promoted + r.running).toBeCloseTo(1, 10);
			}
		}
	});

	it("is deterministic for a seed", () => {
		expect(simulate({ rollouts: 10, seed: 9, scenarios: SCENARIOS.slice(2, 3) })).toEqual(
			simulate({ rollouts: 10, seed: 9, scenarios: SCENARIOS.slice(2, 3) }).map((r) => ({
				...r,
				rules: r.rules.map((x) => ({ ...x, seconds: expect.any(Number) })),
			})),
		);
	});

	it("stops harmful candidates and lets healthy ones through (sanity, not the goals)", () => {
		expect(rule("5x errors", "switchyard").aborted).toBe(1);
		expect(rule("2x errors", "switchyard").aborted).toBeGreaterThan(0.9);
		expect(rule("healthy (A/A)", "switchyard").promoted).toBeGreaterThan(0.85);
		expect(rule("healthy (A/A)", "naive").aborted).toBeGreaterThanOrEqual(
			rule("healthy (A/A)", "switchyard").aborted,
		);
		expect(rule("+20% p95 latency", "switchyard").aborted).toBeGreaterThan(0.8);
	});
});
