/**
 * The deployment's headline: the verdict in one line, the current canary
 * step's progress (bake time, requests per arm, sample ratio) and the
 * approval gate with its button.
 */
import type { DeploymentDetail, HistoryPage, WireReport } from "../client";
import { el } from "./dom";
import { isNum, pct, pval } from "./format";

type Entry = HistoryPage["entries"][number];

/** One sentence: the A/B verdict, the shadow's agreement, or the guardrails' states. */
export function verdictLine(a: WireReport | null): string {
	if (!a) return "";
	if (a.strategy === "ab") return `Verdict: ${a.verdict}. ${a.summary || ""}`;
	if (a.strategy === "shadow") {
		const c = a.comparisons;
		return `Agreement ${pct(c.agreement)} over ${c.compared} comparisons. ${a.promotion.reason}`;
	}
	const failing = a.guardrails.filter((g) => g.status === "fail").map((g) => g.label);
	return failing.length
		? `Failing guardrails: ${failing.join(", ")}`
		: `Guardrails: ${a.guardrails.map((g) => `${g.label} ${g.status}`).join(", ")}`;
}

function progress(label: string, value: number, max: number, text: string, id: string) {
	const shown = Math.max(0, Math.min(isNum(value) ? value : 0, max));
	return el(
		"div",
		{ class: "progress", id },
		el("label", { for: `${id}-bar` }, label),
		el("progress", { id: `${id}-bar`, max: String(max), value: String(shown) }),
		el("span", { class: "progress-text" }, text),
	);
}

/** A canary's current step: bake time and requests per arm against their minimums, and the SRM check. */
export function stepProgress(a: WireReport | null): HTMLElement | null {
	if (a?.strategy !== "canary" || !a.step) return null;
	const s = a.step;
	const mismatch = a.srm?.mismatch === true;
	return el(
		"div",
		{ id: "step-progress" },
		el("h3", {}, `Step ${s.index} at ${s.weight} %`),
		progress(
			"Bake time",
			s.elapsedSeconds,
			Math.max(1, s.bakeSeconds),
			`${Math.floor(s.elapsedSeconds)} of ${s.bakeSeconds} s`,
			"bake",
		),
		progress(
			"Candidate requests",
			s.candidate,
			Math.max(1, s.minRequests),
			`${s.candidate} of ${s.minRequests}`,
			"candidate-requests",
		),
		progress(
			"Champion requests",
			s.champion,
			Math.max(1, s.minRequests),
			`${s.champion} of ${s.minRequests}`,
			"champion-requests",
		),
		el(
			"p",
			{ class: `srm${mismatch ? " error" : ""}` },
			`Sample ratio: χ² p = ${pval(a.srm?.pValue)}${mismatch ? " — MISMATCH" : " (ok)"}`,
		),
	);
}

/** Not a change of the rollout: creating or replacing the spec. */
export const isDecision = (e: Entry) => e.kind !== "admin:create" && e.kind !== "admin:replace";

/** The approval gate: the button while a step awaits approval, then what the approval waits for. */
export function approvalBanner(
	detail: DeploymentDetail,
	entries: readonly Entry[],
): HTMLElement | null {
	const s = detail.state;
	const last = entries.find(isDecision);
	const awaiting =
		last?.kind === "hold" &&
		/^awaiting approval/.test(last.reason) &&
		s !== null &&
		s.approved === undefined;
	if (awaiting && last) {
		return el(
			"p",
			{ id: "approval", class: "banner" },
			`${last.reason.split(";")[0]}. `,
			el("button", { type: "button", "data-action": "approve", class: "primary" }, "Approve"),
		);
	}
	if (s && isNum(s.approved)) {
		return el(
			"p",
			{ id: "approval", class: "banner" },
			`Approved to go to ${s.approved} %: waiting for the guardrails (or the step window).`,
		);
	}
	return null;
}
