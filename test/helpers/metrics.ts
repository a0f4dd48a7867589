/** Helpers to read a deployment object's metrics in integration tests. */
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { mergeRows, type VariantAggregate } from "../../src/metrics/aggregate";

export function store(name: string) {
	return env.DEPLOYMENT.getByName(name);
}

/** Merged aggregates per variant over all of time. */
export async function totals(
	name: string,
): Promise<Record<"champion" | "candidate" | "shadow", VariantAggregate>> {
	const rows = await store(name).aggregates(0, Date.now() + 120_000);
	return {
		champion: mergeRows(rows, "champion"),
		candidate: mergeRows(rows, "candidate"),
		shadow: mergeRows(rows, "shadow"),
	};
}

/** Waits until the background flushes have delivered `count` observations. */
export async function waitForRequests(
	name: string,
	count: number,
	variants: ("champion" | "candidate" | "shadow")[] = ["champion", "candidate"],
) {
	return vi.waitFor(
		async () => {
			const t = await totals(name);
			const total = variants.reduce((s, v) => s + t[v].requests, 0);
			if (total < count) throw new Error(`only ${total} of ${count} observations stored`);
			return t;
		},
		{ timeout: 5000, interval: 25 },
	);
}
