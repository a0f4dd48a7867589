/**
 * The signal registry: every metric declares its name, unit, direction,
 * guardrails, A/B comparison and exported measures once, and the analysis,
 * the α split, the power report and the exports read that one list.
 */
import { describe, expect, it } from "vitest";
import { measureAt, measuresOf, metricsRows, toCsv } from "../../src/admin/export";
import { prometheusText } from "../../src/admin/prometheus";
import { AbPolicy, DeploymentSpec } from "../../src/config/spec";
import { analyze, EMPTY_MEMORY } from "../../src/rollout/analysis";
import { guardrailAlpha } from "../../src/rollout/analysis/guardrails";
import { powerOf } from "../../src/rollout/power";
import {
	AB_COMPARISONS,
	abComparison,
	guardrailsOf,
	MEASURES,
	SIGNALS,
} from "../../src/signals/registry";
import { alignStrata, strataOf } from "../../src/signals/strata";
import { aggregate, minuteRows, WINDOW_MINUTE } from "../helpers/aggregates";

const backends = {
	champion: { version: "v1", url: "https://models.example.com/v1" },
	candidate: { version: "v2", url: "https://models.example.com/v2" },
};

/** A canary with every guardrail on: two latency quantiles, feedback, TTFT and cost. */
const everything = DeploymentSpec.parse({
	name: "every-signal",
	strategy: "canary",
	...backends,
	canary: {
		latencyQuantiles: [0.95, 0.99],
		feedback: { better: "higher", margin: 0.01 },
		ttft: {},
		maxCostIncreasePct: 20,
	},
});
const minimal = DeploymentSpec.parse({ name: "minimal", strategy: "canary", ...backends });

describe("the signal registry", () => {
	it("gives every A/B metric the spec accepts exactly one comparison", () => {
		for (const metric of AbPolicy.shape.metric.unwrap().options) {
			expect(AB_COMPARISONS.filter((c) => c.metric === metric)).toHaveLength(1);
			expect(abComparison(metric).metric).toBe(metric);
		}
		expect(AB_COMPARISONS).toHaveLength(AbPolicy.shape.metric.unwrap().options.length);
	});

	it("names each guardrail once, and turns on only what the spec asks for", () => {
		const names = guardrailsOf(everything, "canary").map((g) => g.name);
		expect(names).toEqual([
			"error_rate",
			"latency_p95",
			"latency_p99",
			"feedback",
			"ttft_p95",
			"cost",
		]);
		expect(guardrailsOf(minimal, "canary").map((g) => g.name)).toEqual([
			"error_rate",
			"latency_p95",
		]);
		// A shadow's copies get no feedback: no one saw them.
		expect(guardrailsOf(everything, "shadow").map((g) => g.name)).not.toContain("feedback");
	});

	it("splits the rollout's alpha evenly across the guardrails the spec turns on (and the SRM test when it aborts)", () => {
		expect(guardrailAlpha(everything, "canary")).toBeCloseTo(0.05 / 6, 12);
		expect(guardrailAlpha(everything, "canary", 1)).toBeCloseTo(0.05 / 7, 12);
		expect(guardrailAlpha(minimal, "canary")).toBeCloseTo(0.05 / 2, 12);
		expect(guardrailAlpha(everything, "shadow")).toBeCloseTo(0.05 / 5, 12);
	});

	it("has unique measure paths and CSV columns, and one help text per Prometheus family", () => {
		const paths = MEASURES.map((m) => m.path);
		const columns = MEASURES.map((m) => m.csv);
		expect(new Set(paths).size).toBe(paths.length);
		expect(new Set(columns).size).toBe(columns.length);
		const help = new Map<string, string>();
		for (const m of MEASURES) {
			if (!m.prometheus) continue;
			const seen = help.get(m.prometheus.name);
			if (seen !== undefined) expect(m.prometheus.help).toBe(seen);
			help.set(m.prometheus.name, m.prometheus.help);
		}
		expect(SIGNALS.map((s) => s.name)).toContain("error_rate");
	});
});

describe("every guardrail's result", () => {
	const minute = WINDOW_MINUTE;
	const champion = aggregate(4000, 40, 80);
	const candidate = aggregate(4000, 200, 160);
	const rows = minuteRows(minute, 5000, champion, candidate);

	it("says its label, unit and worse direction, under the guardrail's own name", () => {
		const { report } = analyze(
			everything,
			{
				status: "running",
				weight: 50,
				step: 3,
				since: new Date(minute * 60_000).toISOString(),
				startedAt: new Date(minute * 60_000).toISOString(),
				reason: "",
				updatedBy: "controller",
				revision: 4,
			},
			{ minutes: rows, feedback: [] },
			EMPTY_MEMORY,
			(minute + 2) * 60_000,
		);
		if (report.strategy !== "canary") throw new Error("expected a canary report");
		expect(report.guardrails.map((g) => g.name)).toEqual(
			guardrailsOf(everything, "canary").map((g) => g.name),
		);
		const units = Object.fromEntries(report.guardrails.map((g) => [g.name, g.unit]));
		expect(units).toEqual({
			error_rate: "ratio",
			latency_p95: "ms",
			latency_p99: "ms",
			feedback: "score",
			ttft_p95: "ms",
			cost: "currency",
		});
		for (const g of report.guardrails) expect(g.label.length).toBeGreaterThan(2);
		expect(report.guardrails.find((g) => g.name === "feedback")?.worse).toBe("lower");
		expect(report.guardrails.find((g) => g.name === "latency_p99")?.worse).toBe("higher");
		// Five times the errors and twice the latency fail; the others have no data.
		const status = Object.fromEntries(report.guardrails.map((g) => [g.name, g.status]));
		expect(status).toMatchObject({ error_rate: "fail", latency_p95: "fail", cost: "insufficient" });
	});

	it("reports a detection time for every guardrail that states one, at the observed traffic", () => {
		const strata = strataOf(rows);
		const aligned = alignStrata(strata);
		expect(aligned.layout.length).toBeGreaterThan(0);
		const power = powerOf(minimal, strata, { ...champion }, 0.025);
		expect(power.detection.map((d) => d.name)).toEqual(["error_rate", "latency_p95"]);
		expect(power.requestsPerMinute).toBe(8000);
		for (const d of power.detection) expect(d.minutes).toBeGreaterThan(0);
	});
});

describe("the exports", () => {
	const row = {
		minute: WINDOW_MINUTE,
		variant: "candidate" as const,
		aggregate: aggregate(100, 3, 80, { fallbacks: 2 }),
		feedback: { n: 4, mean: 0.5, m2: 1 },
	};

	it("nests each measure at its path and leaves out what was not measured", () => {
		const values = measuresOf(row);
		expect(values.requests).toBe(100);
		expect(values.errors).toBe(3);
		expect(values.fallbacks).toBe(2);
		expect(values.feedback).toEqual({ n: 4, mean: 0.5 });
		expect(values.answers).toBeUndefined();
		expect(values.shadow).toBeUndefined();
		const [json] = metricsRows([row]);
		expect(json && measureAt(json, "latency.p95")).toBeGreaterThan(80);
	});

	it("writes one CSV column per measure, in registry order, after minute and variant", () => {
		const [header, line] = toCsv(metricsRows([row]))
			.trim()
			.split("\n");
		expect(header).toBe(["minute", "variant", ...MEASURES.map((m) => m.csv)].join(","));
		expect(header?.startsWith("minute,variant,requests,errors,")).toBe(true);
		expect(line?.split(",")).toHaveLength(MEASURES.length + 2);
	});

	it("exports answer metrics to Prometheus only for variants that measured them", () => {
		const answered = aggregate(10, 0, 80, {
			answers: {
				ttft: { moments: { n: 2, mean: 300, m2: 50 }, histogram: {} },
				cost: { moments: { n: 2, mean: 0.002, m2: 0 }, histogram: {} },
			},
		});
		const text = prometheusText(
			[
				{
					name: "chat",
					strategy: "canary",
					state: null,
					variants: { champion: aggregate(10, 0, 80), candidate: answered },
				},
			],
			600,
		);
		expect(text).toMatch(
			/switchyard_ttft_mean_milliseconds\{deployment="chat",variant="candidate"\} 300/,
		);
		expect(text).toMatch(/switchyard_cost_mean\{deployment="chat",variant="candidate"\} 0.002/);
		expect(text).not.toMatch(/switchyard_cost_mean\{deployment="chat",variant="champion"\}/);
	});
});
