/**
 * Shadow agreement: how often the candidate's copy answered like the
 * champion (compared, agreed, not comparable), on the shadow rows. The
 * shadow analysis turns it into the promotion rule; exported on shadow rows.
 */
import type { VariantAggregate } from "../metrics/aggregate";
import type { Measure, Signal } from "./types";

const HELP = "Shadow comparisons per outcome (agreed, disagreed, uncomparable)";

function onShadow(
	path: string,
	csv: string,
	outcome: string | null,
	read: (a: VariantAggregate) => number,
): Measure {
	return {
		path,
		csv,
		...(outcome === null
			? {}
			: {
					prometheus: {
						name: "switchyard_shadow_comparisons",
						help: HELP,
						labels: { outcome },
						when: (row) => row.variant === "shadow",
					},
				}),
		read: (row) => (row.variant === "shadow" ? read(row.aggregate) : undefined),
	};
}

export const agreement: Signal = {
	name: "agreement",
	measures: [
		onShadow("shadow.compared", "shadow_compared", null, (a) => a.compared),
		onShadow("shadow.agreed", "shadow_agreed", "agreed", (a) => a.agreed),
		onShadow("shadow.disagreed", "shadow_disagreed", "disagreed", (a) => a.compared - a.agreed),
		onShadow("shadow.uncomparable", "shadow_uncomparable", "uncomparable", (a) => a.uncomparable),
	],
};
