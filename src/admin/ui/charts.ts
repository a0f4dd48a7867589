/**
 * Time charts as SVG: x is time with HH:MM ticks, y has its unit; the weight
 * chart marks every decision, coloured by what it did.
 */
import type { HistoryPage, MetricsPage } from "../client";
import { el, svg } from "./dom";
import { clock, pct } from "./format";
import { isDecision } from "./summary";

type Point = [time: number, value: number];
export interface Series {
	name: string;
	label?: string;
	points: Point[];
}
interface Mark {
	t: number;
	y: number;
	kind: string;
	reason: string;
	tone: "good" | "bad" | "neutral";
}
interface ChartOptions {
	from?: number;
	to?: number;
	yMax?: number;
	/** A step line (the weight) instead of points joined by lines. */
	step?: boolean;
	marks?: Mark[];
}

const WIDTH = 560;
const HEIGHT = 190;
const LEFT = 72;
const RIGHT = 16;
const TOP = 12;
const BOTTOM = 28;

/** A chart of series over time; `unit` "%" shows ratios as percentages. */
export function timeChart(
	title: string,
	series: readonly Series[],
	unit: string,
	options: ChartOptions = {},
): HTMLElement {
	const points = series.flatMap((s) => s.points);
	if (points.length === 0) return el("figure", {}, el("figcaption", {}, `${title} — no data yet`));
	const xs = points.map((p) => p[0]);
	const ys = points.map((p) => p[1]);
	const x0 = options.from ?? Math.min(...xs);
	const x1 = Math.max(options.to ?? 0, ...xs, x0 + 60_000);
	const y1 = options.yMax ?? Math.max(...ys, 1e-9);
	const sx = (x: number) => LEFT + ((x - x0) / (x1 - x0)) * (WIDTH - LEFT - RIGHT);
	const sy = (y: number) => HEIGHT - BOTTOM - (y / y1) * (HEIGHT - TOP - BOTTOM);
	const fmt =
		unit === "%"
			? (v: number) => pct(v, 1)
			: (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${unit}`;
	const chart = svg("svg", {
		viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
		class: "chart",
		role: "img",
		"aria-label": title,
	});
	chart.appendChild(svg("title", {}, title));
	for (const f of [0, 0.5, 1]) {
		const y = sy(y1 * f);
		chart.appendChild(svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y, y2: y, class: "grid" }));
		chart.appendChild(
			svg("text", { x: LEFT - 4, y: y + 3, "text-anchor": "end", class: "y-tick" }, fmt(y1 * f)),
		);
	}
	const ticks = 4;
	for (let i = 0; i <= ticks; i++) {
		const t = x0 + ((x1 - x0) * i) / ticks;
		chart.appendChild(
			svg("text", { x: sx(t), y: HEIGHT - 8, "text-anchor": "middle", class: "x-tick" }, clock(t)),
		);
	}
	const at = (p: Point) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`;
	for (const s of series) {
		if (s.points.length === 0) continue;
		const path = options.step
			? s.points
					.map((p, i) => {
						const previous = s.points[i - 1];
						return previous
							? `${sx(p[0]).toFixed(1)},${sy(previous[1]).toFixed(1)} ${at(p)}`
							: at(p);
					})
					.join(" ")
			: s.points.map(at).join(" ");
		chart.appendChild(
			svg("polyline", { points: path, class: `series ${s.name}`, "data-variant": s.name }),
		);
		if (!options.step) {
			for (const p of s.points) {
				chart.appendChild(
					svg("circle", {
						cx: sx(p[0]).toFixed(1),
						cy: sy(p[1]).toFixed(1),
						r: 2.5,
						class: `dot ${s.name}`,
					}),
				);
			}
		}
	}
	for (const m of options.marks ?? []) {
		const g = svg("g", { class: `mark ${m.tone}`, "data-kind": m.kind });
		g.appendChild(
			svg("line", { x1: sx(m.t), x2: sx(m.t), y1: TOP, y2: HEIGHT - BOTTOM, class: "mark-line" }),
		);
		g.appendChild(svg("circle", { cx: sx(m.t), cy: sy(m.y), r: 4.5, class: "mark-dot" }));
		g.appendChild(svg("title", {}, `${clock(m.t)} ${m.kind}: ${m.reason}`));
		chart.appendChild(g);
	}
	const legend = el(
		"div",
		{ class: "legend" },
		series.map((s) => el("span", { class: `key ${s.name}` }, s.label || s.name)),
	);
	return el("figure", {}, el("figcaption", {}, title), chart, legend);
}

type Row = MetricsPage["rows"][number];

/** One series per variant of a per-minute value, in time order. */
export function seriesOf(rows: readonly Row[], value: (row: Row) => number): Series[] {
	const by = new Map<string, Point[]>();
	for (const row of rows) {
		const points = by.get(row.variant) ?? [];
		points.push([Date.parse(row.minute), value(row)]);
		by.set(row.variant, points);
	}
	return [...by].map(([name, points]) => ({ name, points: points.sort((a, b) => a[0] - b[0]) }));
}

const TONES: Record<string, Mark["tone"]> = {
	abort: "bad",
	"admin:abort": "bad",
	step_up: "good",
	promote: "good",
	"admin:promote": "good",
	start_canary: "good",
	hold: "neutral",
};

/** The candidate's weight over time, as a step line from the audit log, with each decision marked. */
export function weightChart(entries: readonly HistoryPage["entries"][number][]): HTMLElement {
	const ordered = [...entries].sort((a, b) => a.id - b.id);
	const last = ordered[ordered.length - 1];
	if (!last) return timeChart("Candidate weight over time", [], "%");
	const points: Point[] = ordered.map((e) => [Date.parse(e.time), e.to.weight / 100]);
	points.push([Date.now(), last.to.weight / 100]);
	const marks = ordered.filter(isDecision).map((e) => ({
		t: Date.parse(e.time),
		y: e.to.weight / 100,
		kind: e.kind,
		reason: e.reason,
		tone: TONES[e.kind] ?? "neutral",
	}));
	return timeChart(
		"Candidate weight over time, with each decision",
		[{ name: "candidate", label: "candidate weight", points }],
		"%",
		{ step: true, yMax: 1, marks },
	);
}
