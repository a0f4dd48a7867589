/** The deployments table: one row per deployment the API lists, each a link that selects it. */
import type { DeploymentList } from "../client";
import type { DashboardClient } from "./api";
import { $, el } from "./dom";
import { NAME, session } from "./session";

type Listed = DeploymentList["deployments"][number];

/** Lists the deployments, remembers their valid names (the only ones requests are built from), renders them. */
export async function loadList(
	{ api, call }: DashboardClient,
	onSelect: (name: string) => void,
): Promise<Listed[]> {
	const { deployments } = await (await call(api.deployments.$get())).json();
	session.known = new Set(deployments.map((d) => d.name).filter((n) => NAME.test(n)));
	const rows = deployments
		.filter((d) => session.known.has(d.name))
		.map((d) =>
			el(
				"tr",
				{ "data-name": d.name, class: d.name === session.selected ? "selected" : "" },
				el(
					"td",
					{},
					el(
						"a",
						{
							href: `#${d.name}`,
							onclick: (event) => {
								event.preventDefault();
								onSelect(d.name);
							},
						},
						d.name,
					),
				),
				el("td", {}, d.strategy || "invalid spec"),
				el("td", { class: `status ${d.status}` }, d.status),
				el("td", { class: "num" }, `${d.weight} %`),
				el(
					"td",
					{},
					d.lastDecision ? `${d.lastDecision.kind}: ${d.lastDecision.reason}` : d.reason,
				),
			),
		);
	$("#deployments tbody").replaceChildren(...rows);
	return deployments;
}
