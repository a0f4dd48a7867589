/** A shadow's recent disagreements, the champion's and the candidate's answers side by side. */
import type { WireShadowSample } from "../routes/metrics";
import { el } from "./dom";
import { ms } from "./format";

/** What the table shows of a sample. */
export type Sample = Pick<
	WireShadowSample,
	| "time"
	| "agreed"
	| "championOutput"
	| "candidateOutput"
	| "championLatencyMs"
	| "candidateLatencyMs"
>;

/** One NDJSON line of `/shadow-samples`, checked field by field; null when it is not a sample. */
function parseSample(line: string): Sample | null {
	let parsed: unknown;
	try {
		parsed = JSON.parse(line);
	} catch {
		return null;
	}
	if (typeof parsed !== "object" || parsed === null) return null;
	if (
		!("time" in parsed) ||
		!("agreed" in parsed) ||
		!("championOutput" in parsed) ||
		!("candidateOutput" in parsed) ||
		!("championLatencyMs" in parsed) ||
		!("candidateLatencyMs" in parsed)
	)
		return null;
	const { time, agreed, championOutput, candidateOutput, championLatencyMs, candidateLatencyMs } =
		parsed;
	if (
		typeof time !== "string" ||
		!(typeof agreed === "boolean" || agreed === null) ||
		typeof championOutput !== "string" ||
		typeof candidateOutput !== "string" ||
		typeof championLatencyMs !== "number" ||
		typeof candidateLatencyMs !== "number"
	)
		return null;
	return { time, agreed, championOutput, candidateOutput, championLatencyMs, candidateLatencyMs };
}

/** The samples of an NDJSON body, newest first as the API sends them. */
export function parseSamples(ndjson: string): Sample[] {
	return ndjson
		.split("\n")
		.filter(Boolean)
		.map(parseSample)
		.filter((s): s is Sample => s !== null);
}

const when = (iso: string) => iso.replace("T", " ").slice(0, 19);

/** The 20 newest disagreements among the samples, or a sentence saying there are none. */
export function disagreements(samples: readonly Sample[]): HTMLElement {
	const pairs = samples.filter((s) => s.agreed === false).slice(0, 20);
	if (pairs.length === 0) {
		return el(
			"p",
			{ id: "disagreements-empty" },
			samples.length
				? `No disagreement among the ${samples.length} most recent comparisons.`
				: "No shadow comparisons yet.",
		);
	}
	return el(
		"table",
		{ id: "disagreements" },
		el("caption", {}, `${pairs.length} of the ${samples.length} most recent comparisons disagree`),
		el(
			"thead",
			{},
			el(
				"tr",
				{},
				["time", "champion answered", "candidate answered", "latency"].map((h) =>
					el("th", { scope: "col" }, h),
				),
			),
		),
		el(
			"tbody",
			{},
			pairs.map((s) =>
				el(
					"tr",
					{},
					el("td", {}, when(s.time)),
					el("td", {}, el("pre", { class: "champion-output" }, s.championOutput)),
					el("td", {}, el("pre", { class: "candidate-output" }, s.candidateOutput)),
					el("td", { class: "num" }, `${ms(s.championLatencyMs)} / ${ms(s.candidateLatencyMs)}`),
				),
			),
		),
	);
}
