/**
 * Plain-text layouts for people: tables and the analysis report. Pure. The
 * report types are the ones the typed client receives (client.ts).
 */
import { formatDifference, formatValue } from "../../src/signals/display";
import type { SignalUnit } from "../../src/signals/types";
import type { WireReport } from "./client";

type AnalysisReport = WireReport;
type CanaryReport = Extract<WireReport, { strategy: "canary" }>;
type AbReport = Extract<WireReport, { strategy: "ab" }>;
type ShadowReport = Extract<WireReport, { strategy: "shadow" }>;
type GuardrailResult = CanaryReport["guardrails"][number];
type VariantSummary = AbReport["champion"];
/** A confidence interval; null is an open end. */
type Interval = readonly (number | null)[];

/** Left-aligned columns separated by two spaces; long cells are cut at `max`. */
export function table(headers: string[], rows: (string | number)[][], max = 80): string {
	const cells = [headers, ...rows.map((r) => r.map((c) => cut(String(c), max)))];
	const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
	return cells
		.map((r) =>
			r
				.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
				.join("  ")
				.trimEnd(),
		)
		.join("\n");
}

function cut(text: string, max: number): string {
	return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)} %`;
export const ms = (x: number) => `${x.toFixed(1)} ms`;
export const p = (x: number) => (x >= 1e-4 ? x.toFixed(4) : x.toExponential(2));

export function interval(ci: Interval, format: (x: number) => string): string {
	const [lo = null, hi = null] = ci;
	return `[${lo === null ? "−∞" : format(lo)}, ${hi === null ? "+∞" : format(hi)}]`;
}

function variantsTable(
	champion: VariantSummary,
	candidate: VariantSummary,
	candidateLabel = "candidate",
): string {
	const row = (label: string, v: VariantSummary) => [
		label,
		v.requests,
		`${pct(v.errorRate)} (${v.errors})`,
		v.fallbacks,
		ms(v.latency.p50),
		ms(v.latency.p95),
		ms(v.latency.p99),
		v.feedback.n > 0 ? `${v.feedback.mean.toFixed(4)} (n=${v.feedback.n})` : "—",
	];
	return table(
		["variant", "requests", "errors", "fallbacks", "p50", "p95", "p99", "feedback"],
		[row("champion", champion), row(candidateLabel, candidate)],
	);
}

/** What watched answers showed per variant (LLM answers): shown whenever any was measured. */
const ANSWER_COLUMNS: { header: string; path: string[]; unit: SignalUnit }[] = [
	{ header: "TTFT p50", path: ["ttft", "p50"], unit: "ms" },
	{ header: "TTFT p95", path: ["ttft", "p95"], unit: "ms" },
	{ header: "duration", path: ["duration", "mean"], unit: "ms" },
	{ header: "prompt", path: ["promptTokens"], unit: "tokens" },
	{ header: "completion", path: ["completionTokens"], unit: "tokens" },
	{ header: "speed", path: ["tokensPerSecond"], unit: "tokens_per_second" },
	{ header: "cost", path: ["cost"], unit: "currency" },
];

function answerValue(v: VariantSummary, path: string[]): number | undefined {
	let node: unknown = v.answers;
	for (const part of path)
		node = typeof node === "object" && node !== null ? Reflect.get(node, part) : undefined;
	return typeof node === "number" ? node : undefined;
}

function answersTable(
	champion: VariantSummary,
	candidate: VariantSummary,
	candidateLabel = "candidate",
): string[] {
	if (!champion.answers && !candidate.answers) return [];
	const shown = ANSWER_COLUMNS.filter((c) =>
		[champion, candidate].some((v) => answerValue(v, c.path) !== undefined),
	);
	const row = (label: string, v: VariantSummary) => [
		label,
		...shown.map((c) => formatValue(c.unit, answerValue(v, c.path))),
	];
	return [
		"",
		"answers (mean per request; TTFT and duration from the start of the call):",
		table(
			["variant", ...shown.map((c) => c.header)],
			[row("champion", champion), row(candidateLabel, candidate)],
		),
	];
}

function guardrailsTable(guardrails: GuardrailResult[]): string {
	return table(
		["guardrail", "status", "champion", "candidate", "allowed", "p (always-valid)", "α"],
		guardrails.map((g) => {
			const unit = (x: number) => formatValue(g.unit, x);
			return [
				g.name,
				g.status,
				unit(g.champion),
				unit(g.candidate),
				formatDifference(g.unit, g.margin),
				p(g.pValue),
				g.alpha.toFixed(4),
			];
		}),
	);
}

function canaryText(r: CanaryReport): string {
	const s = r.step;
	return [
		`canary step ${s.index} at ${s.weight} % — ${Math.floor(s.elapsedSeconds)} of ${s.bakeSeconds} s baked, ${s.candidate}/${s.minRequests} candidate and ${s.champion}/${s.minRequests} champion requests in this step`,
		"",
		"since the rollout began:",
		variantsTable(r.rollout.champion, r.rollout.candidate),
		...answersTable(r.rollout.champion, r.rollout.candidate),
		"",
		guardrailsTable(r.guardrails),
		"",
		`error-rate ceiling: ${pct(r.ceiling.candidateErrorRate)} of ${r.ceiling.candidateRequests} candidate requests in this step (limit ${pct(r.ceiling.limit)})${r.ceiling.breached ? " — BREACHED" : ""}`,
		`sample ratio (sequential, this step): p = ${p(r.srm.pValue)}${r.srm.mismatch ? " — MISMATCH" : " (ok)"}`,
		`power: ${r.power.detail}`,
	].join("\n");
}

function abText(r: AbReport): string {
	const rows = r.metrics.map((m) => {
		const unit = (x: number) => formatValue(m.unit, x);
		const difference = (x: number) => formatDifference(m.unit, x);
		return [
			m.metric === r.primary ? `${m.metric} *` : m.metric,
			unit(m.champion),
			unit(m.candidate),
			`${difference(m.difference)} ${interval(m.ci, difference)}`,
			m.relative
				? `${pct(m.relative.estimate, 1)} ${interval(m.relative.ci, (x) => pct(x, 1))}`
				: "—",
			p(m.pValue),
			p(m.alwaysValidPValue),
			m.insufficient ? `(${m.insufficient})` : "",
		];
	});
	return [
		`A/B test at ${r.weight} % — verdict: ${r.verdict}${r.needsMore ? ` (needs about ${r.needsMore} more requests per variant)` : ""}`,
		r.summary,
		"",
		variantsTable(r.champion, r.candidate),
		...answersTable(r.champion, r.candidate),
		"",
		table(
			[
				"metric",
				"champion",
				"candidate",
				"difference [95 % CI]",
				"relative [95 % CI]",
				"p (fixed)",
				"p (always-valid)",
				"",
			],
			rows,
		),
		"* decision metric",
		`sample ratio (sequential, this step): p = ${p(r.srm.pValue)}${r.srm.mismatch ? " — MISMATCH" : " (ok)"}`,
	].join("\n");
}

function shadowText(r: ShadowReport): string {
	const c = r.comparisons;
	return [
		`shadow: ${c.agreed} of ${c.compared} comparable answers agree (${pct(c.agreement, 1)}, 95 % CI ${interval(c.ci, (x) => pct(x, 1))}); ${c.uncomparable} could not be compared`,
		`promotion: ${r.promotion.ready ? "ready" : "not yet"} — ${r.promotion.reason}`,
		"",
		variantsTable(r.champion, r.candidate, "shadow"),
		...answersTable(r.champion, r.candidate, "shadow"),
		"",
		guardrailsTable(r.guardrails),
	].join("\n");
}

export function reportText(report: AnalysisReport): string {
	if (report.strategy === "canary") return canaryText(report);
	if (report.strategy === "ab") return abText(report);
	return shadowText(report);
}
