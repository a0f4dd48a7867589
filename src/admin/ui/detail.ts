/**
 * The selected deployment: its state, verdict, approval gate, step progress,
 * evidence, charts, shadow disagreements and recent decisions, read through
 * the admin API in one go and rendered into the page's slots.
 */
import { measureAt } from "../../signals/measure-value";
import { type DashboardClient, deploymentParam } from "./api";
import { seriesOf, timeChart, weightChart } from "./charts";
import { $, el } from "./dom";
import { evidence } from "./evidence";
import { historyRows } from "./history";
import { isKnown, session } from "./session";
import { disagreements, parseSamples } from "./shadow";
import { approvalBanner, stepProgress, verdictLine } from "./summary";

const present = <T>(x: T | null): T[] => (x === null ? [] : [x]);

export async function loadDetail({ api, call }: DashboardClient): Promise<void> {
	const name = session.selected;
	if (!isKnown(name)) {
		$("#detail").hidden = true;
		return;
	}
	const param = deploymentParam(name);
	const deployment = api.deployments[":name"];
	const [detail, metrics, history] = await Promise.all([
		call(deployment.$get({ param })).then((r) => r.json()),
		call(deployment.metrics.$get({ param, query: {} })).then((r) => r.json()),
		call(deployment.history.$get({ param, query: { limit: "100" } })).then((r) => r.json()),
	]);
	const isShadow = detail.spec?.strategy === "shadow";
	const samples = isShadow
		? parseSamples(
				await (
					await call(deployment["shadow-samples"].$get({ param, query: { limit: "200" } }))
				).text(),
			)
		: [];
	const s = detail.state ?? { status: "pending", weight: 0, reason: "" };
	$("#detail-title").textContent = name;
	$("#detail-state").textContent = `${s.status} at ${s.weight} % — ${s.reason}`;
	$("#detail-state").setAttribute("data-status", s.status);
	$("#detail-summary").textContent = verdictLine(detail.analysis);
	$("#approval-slot").replaceChildren(...present(approvalBanner(detail, history.entries)));
	$("#progress-slot").replaceChildren(...present(stepProgress(detail.analysis)));
	$("#evidence-slot").replaceChildren(evidence(detail));
	const to = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
	const rows = metrics.rows;
	const from = rows.length ? Math.min(...rows.map((r) => Date.parse(r.minute))) : to - 3_600_000;
	$("#charts").replaceChildren(
		weightChart(history.entries),
		timeChart(
			"Requests per minute",
			seriesOf(rows, (r) => measureAt(r, "requests") ?? 0),
			"req/min",
			{ from, to },
		),
		timeChart(
			"Error rate per minute",
			seriesOf(rows, (r) => {
				const requests = measureAt(r, "requests") ?? 0;
				return requests > 0 ? (measureAt(r, "errors") ?? 0) / requests : 0;
			}),
			"%",
			{ from, to },
		),
		timeChart(
			"p95 latency per minute",
			seriesOf(rows, (r) => measureAt(r, "latency.p95") ?? 0),
			"ms",
			{ from, to },
		),
	);
	$("#shadow-slot").replaceChildren(
		...(isShadow ? [el("h3", {}, "Shadow disagreements"), disagreements(samples)] : []),
	);
	$("#history tbody").replaceChildren(...historyRows(history.entries));
	$("#detail").hidden = false;
}
