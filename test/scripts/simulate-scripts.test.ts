import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/edge";
import { runScenario, simulate } from "../../scripts/sim/run";
import { loadScenario, parseScenario, valueAt } from "../../scripts/sim/scenario-file";
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

describe("npm run simulate -- --scenario FILE.json", () => {
	const examples = join(ROOT, "examples", "scenarios");
	const files = readdirSync(examples).filter((f) => f.endsWith(".json"));

	it("has a committed public set, every file valid", () => {
		expect(files.length).toBeGreaterThanOrEqual(10);
		for (const file of files) {
			const scenario = loadScenario(join(examples, file));
			expect(scenario.name.length).toBeGreaterThan(0);
		}
	});

	it("reads series as points: linear between them, a repeated minute is a step, the last value holds", () => {
		const points: [number, number][] = [
			[0, 0.005],
			[10, 0.01],
			[15, 0.01],
			[15, 0.02],
		];
		expect(valueAt(points, 0)).toBe(0.005);
		expect(valueAt(points, 5)).toBeCloseTo(0.0075, 12);
		expect(valueAt(points, 14.5)).toBe(0.01);
		expect(valueAt(points, 15)).toBe(0.02);
		expect(valueAt(points, 500)).toBe(0.02);
	});

	it("gives the candidate the champion's behaviour for every field it leaves out", () => {
		const scenario = parseScenario({
			name: "defaults",
			minutes: 10,
			requestsPerMinute: 100,
			champion: { errorRate: 0.01, latency: { median: 50, sigma: 0.3 } },
			candidate: { errorRate: 0.02 },
			expect: "harmful",
		});
		expect(scenario.candidate).toEqual({ errorRate: [[0, 0.02]] });
		expect(scenario.policy.steps).toEqual([1, 5, 25, 50, 100]);
		expect(scenario.noise).toEqual({ errorRateCv: 0, errorClusterSize: 1 });
	});

	it("refuses an invalid scenario with every problem and its path", () => {
		expect(() =>
			parseScenario(
				{
					name: "bad",
					minutes: 0,
					requestsPerMinute: [
						[5, 10],
						[1, 10],
					],
					champion: { errorRate: 2, latency: { median: 80 } },
					policy: { steps: [5, 1], bogus: true },
					expect: "fine",
				},
				"bad.json",
			),
		).toThrowError(
			/bad\.json is not a valid scenario:[\s\S]*minutes[\s\S]*requestsPerMinute: points must be in minute order[\s\S]*champion\.errorRate: errorRate values must lie in \[0, 1\][\s\S]*policy/,
		);
	});

	it("runs whole rollouts with the real analysis and controller, the same for a seed", () => {
		const scenario = loadScenario(join(examples, "reference-2x-errors.json"));
		const first = runScenario(scenario, { rollouts: 20, seed: 4 });
		expect(first.aborted).toBeGreaterThanOrEqual(0.9);
		expect(first.aborted + first.promoted + first.running).toBeCloseTo(1, 12);
		expect(first.exposure.aborted).toBeGreaterThan(0);
		expect(first.exposure.aborted).toBeLessThan(0.1);
		const { seconds: _a, ...a } = first;
		const { seconds: _b, ...b } = runScenario(scenario, { rollouts: 20, seed: 4 });
		expect(b).toEqual(a);
	});

	it("prints one JSON object per scenario with --json", () => {
		const out = execFileSync(
			process.execPath,
			[
				"--import",
				"tsx",
				join(ROOT, "scripts", "simulate.ts"),
				"--scenario",
				join(examples, "reference-healthy.json"),
				"--rollouts",
				"3",
				"--seed",
				"2",
				"--json",
			],
			{ cwd: ROOT, encoding: "utf8" },
		);
		const lines = out.trim().split("\n");
		expect(lines).toHaveLength(1);
		const summary = JSON.parse(lines[0] as string);
		expect(Object.keys(summary).sort()).toEqual(
			[
				"aborted",
				"exposure",
				"medianMinutes",
				"promoted",
				"rollouts",
				"running",
				"scenario",
			].sort(),
		);
		expect(summary).toMatchObject({ scenario: "reference: healthy (A/A)", rollouts: 3 });
		expect(Object.keys(summary.exposure).sort()).toEqual(["aborted", "promoted"]);
	});

	it("exits 2 with the validation errors for a bad file", () => {
		const bad = join(ROOT, "test", "fixtures", "count-mixture-reference.json");
		const run = spawnSync(
			process.execPath,
			["--import", "tsx", join(ROOT, "scripts", "simulate.ts"), "--scenario", bad],
			{ cwd: ROOT, encoding: "utf8" },
		);
		expect(run.status).toBe(2);
		expect(run.stderr).toMatch(/is not a valid scenario/);
		expect(run.stderr).toMatch(/name/);
	});
});
