/** The recent decisions table: the audit log's newest entries, with their webhook deliveries. */
import type { HistoryPage } from "../client";
import { el } from "./dom";

type Entry = HistoryPage["entries"][number];

const when = (iso: string) => iso.replace("T", " ").slice(0, 19);

function delivery(n: { event: string; status: string; attempts: number }): string {
	return `${n.event} ${n.status}${n.attempts > 1 ? ` (${n.attempts} tries)` : ""}`;
}

export function historyRows(entries: readonly Entry[], limit = 15): HTMLElement[] {
	return entries
		.slice(0, limit)
		.map((e) =>
			el(
				"tr",
				{ "data-kind": e.kind },
				el("td", {}, when(e.time)),
				el("td", {}, e.actor),
				el("td", {}, e.kind),
				el(
					"td",
					{},
					`${e.from ? `${e.from.status} ${e.from.weight} %` : "—"} → ${e.to.status} ${e.to.weight} %`,
				),
				el("td", {}, e.reason),
				el("td", { class: "notified" }, (e.notifications ?? []).map(delivery).join(", ")),
			),
		);
}
