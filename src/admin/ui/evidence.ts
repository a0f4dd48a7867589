/**
 * The evidence table: each canary guardrail or A/B metric with both arms,
 * the difference and its interval against the margin, p and α, coloured by
 * the verdict. Label, unit and the direction that is worse come from each
 * report row, so no metric is known here by name.
 */
import type { DeploymentDetail, WireReport } from "../client";
import { el } from "./dom";
import { formatOf, isNum, pval, type UnitFormat } from "./format";
import { intervalBar, type Verdict } from "./interval";

type GuardedReport = Extract<WireReport, { strategy: "canary" | "shadow" }>;
type AbReport = Extract<WireReport, { strategy: "ab" }>;
export type Guardrail = GuardedReport["guardrails"][number];
type MetricComparison = AbReport["metrics"][number];
type Ci = readonly (number | null)[];

/** "+1.2 ms [−0.3 ms, +∞]": a difference and its interval (an open end is infinite). */
function differenceText(unit: UnitFormat, difference: number, ci: Ci): string {
	const [low, high] = ci;
	return `${unit.diff(difference)} [${isNum(low) ? unit.diff(low) : "−∞"}, ${isNum(high) ? unit.diff(high) : "+∞"}]`;
}

function differenceCell(row: Parameters<typeof intervalBar>[0]) {
	return el(
		"td",
		{ class: "difference" },
		intervalBar(row),
		el("span", { class: "diff-text" }, row.text),
	);
}

function guardrailRow(g: Guardrail): HTMLElement {
	const unit = formatOf(g.unit);
	// The margin lies on the side that is worse for the candidate.
	const reference = isNum(g.margin) ? (g.worse === "lower" ? -g.margin : g.margin) : 0;
	const verdict: Verdict = g.status === "fail" ? "bad" : g.status === "pass" ? "good" : "neutral";
	const text = differenceText(unit, g.difference, g.ci);
	return el(
		"tr",
		{ "data-metric": g.name, "data-verdict": verdict, "data-unit": g.unit },
		el("th", { scope: "row" }, g.label),
		el("td", { class: "num champion" }, unit.value(g.champion)),
		el("td", { class: "num candidate" }, unit.value(g.candidate)),
		differenceCell({
			ci: g.ci,
			estimate: g.difference,
			reference,
			verdict,
			label: g.label,
			text,
			referenceText: `margin ${unit.diff(reference)}`,
		}),
		el("td", { class: "num margin" }, unit.diff(reference)),
		el("td", { class: "num p" }, pval(g.pValue)),
		el("td", { class: "num alpha" }, isNum(g.alpha) ? g.alpha.toFixed(4) : "—"),
		el("td", { class: `verdict ${verdict}` }, g.status || "—"),
	);
}

function abRow(m: MetricComparison, primary: string, alpha: number | null): HTMLElement {
	const unit = formatOf(m.unit);
	// The colour is the decision's: the always-valid test at α, in the direction that is better.
	const significant =
		!m.insufficient && isNum(m.alwaysValidPValue) && isNum(alpha) && m.alwaysValidPValue <= alpha;
	const improves = m.worse === "higher" ? m.difference < 0 : m.difference > 0;
	const verdict: Verdict = !significant ? "neutral" : improves ? "good" : "bad";
	const text = differenceText(unit, m.difference, m.ci);
	const isPrimary = m.metric === primary;
	const says = m.insufficient
		? "insufficient"
		: verdict === "good"
			? "better"
			: verdict === "bad"
				? "worse"
				: "no difference yet";
	return el(
		"tr",
		{
			"data-metric": m.metric,
			"data-verdict": verdict,
			"data-unit": m.unit,
			class: isPrimary ? "primary" : "",
		},
		el("th", { scope: "row" }, m.label + (isPrimary ? " (decision metric)" : "")),
		el("td", { class: "num champion" }, unit.value(m.champion)),
		el("td", { class: "num candidate" }, unit.value(m.candidate)),
		differenceCell({
			ci: m.ci,
			estimate: m.difference,
			reference: 0,
			verdict,
			label: m.label,
			text,
			referenceText: "no difference",
		}),
		el("td", { class: "num margin" }, "0"),
		el(
			"td",
			{ class: "num p" },
			pval(m.alwaysValidPValue),
			el("small", {}, ` fixed ${pval(m.pValue)}`),
		),
		el("td", { class: "num alpha" }, isNum(alpha) ? String(alpha) : "—"),
		el("td", { class: `verdict ${verdict}` }, says),
	);
}

const HEADINGS = [
	"metric",
	"champion",
	"candidate",
	"difference (candidate − champion) and interval",
	"margin",
	"p",
	"α",
	"verdict",
];

const GUARDRAILS_CAPTION =
	'Guardrails over the whole rollout: always-valid one-sided tests of "worse by more than the margin" (green passing, grey not enough data, red failing).';
const AB_CAPTION =
	"A/B metrics: difference with its fixed-horizon 95 % interval against no difference; p is always-valid (fixed-horizon beside it), and the colour is its verdict at α (green better, grey no difference yet, red worse).";

/** The evidence behind the report's decisions, or why there is none. */
export function evidence(detail: DeploymentDetail): HTMLElement {
	const a = detail.analysis;
	if (!a) return el("p", { class: "error" }, "No analysis: the spec in KV is invalid.");
	const head = el(
		"thead",
		{},
		el(
			"tr",
			{},
			HEADINGS.map((h) => el("th", { scope: "col" }, h)),
		),
	);
	const alpha = detail.spec?.ab.alpha ?? null;
	const [caption, rows] =
		a.strategy === "ab"
			? [AB_CAPTION, a.metrics.map((m) => abRow(m, a.primary, alpha))]
			: [GUARDRAILS_CAPTION, a.guardrails.map(guardrailRow)];
	return el("table", { id: "evidence" }, el("caption", {}, caption), head, el("tbody", {}, rows));
}
