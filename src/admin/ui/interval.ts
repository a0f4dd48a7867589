/** An interval against a reference line (the margin, or 0), coloured by its verdict, as SVG. */
import { svg } from "./dom";
import { isNum } from "./format";

export type Verdict = "good" | "bad" | "neutral";

export interface IntervalBar {
	ci: readonly (number | null)[];
	estimate: number | null;
	/** The margin (signed: the direction that is worse), or 0. */
	reference: number;
	verdict: Verdict;
	label: string;
	/** The difference and its interval, as shown beside the bar. */
	text: string;
	referenceText: string;
}

const WIDTH = 240;
const HEIGHT = 26;
const PAD = 8;

export function intervalBar(row: IntervalBar): SVGElement {
	const [low, high] = row.ci;
	const finite = [0, row.reference, row.estimate, low, high].filter(isNum);
	let lo = Math.min(...finite);
	let hi = Math.max(...finite);
	if (hi - lo < 1e-12) {
		lo -= 1;
		hi += 1;
	}
	const span = hi - lo;
	lo -= span * 0.15;
	hi += span * 0.15;
	const x = (v: number) => PAD + ((v - lo) / (hi - lo)) * (WIDTH - 2 * PAD);
	const s = svg("svg", {
		viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
		class: `interval ${row.verdict}`,
		role: "img",
		"aria-label": `${row.label}: difference ${row.text} against ${row.referenceText}`,
	});
	s.appendChild(svg("title", {}, `${row.label}: ${row.text} (reference ${row.referenceText})`));
	s.appendChild(svg("line", { x1: x(0), x2: x(0), y1: 3, y2: HEIGHT - 3, class: "zero" }));
	if (row.reference !== 0) {
		const at = x(row.reference);
		s.appendChild(svg("line", { x1: at, x2: at, y1: 1, y2: HEIGHT - 1, class: "margin-line" }));
	}
	const left = isNum(low) ? x(low) : PAD;
	const right = isNum(high) ? x(high) : WIDTH - PAD;
	if (isNum(low) || isNum(high)) {
		s.appendChild(
			svg("rect", {
				x: Math.min(left, right),
				y: 9,
				width: Math.max(2, Math.abs(right - left)),
				height: 8,
				rx: 2,
				class: "ci",
			}),
		);
	}
	if (isNum(row.estimate))
		s.appendChild(svg("circle", { cx: x(row.estimate), cy: 13, r: 4, class: "estimate" }));
	return s;
}
