/** Summaries of many simulated rollouts. */
import type { RolloutOutcome } from "./rollout";

export interface OutcomeSummary {
	rollouts: number;
	aborted: number;
	promoted: number;
	running: number;
	/** Median minutes to a decision (abort or promote), null without decisions. */
	medianMinutes: number | null;
	/** Median share of requests served by the candidate before an abort, null without aborts. */
	medianExposure: number | null;
	/** The same before a promotion, null without promotions. */
	medianExposurePromoted: number | null;
}

export function median(values: number[]): number | null {
	if (values.length === 0) return null;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2
		? (sorted[mid] as number)
		: ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarizeOutcomes(outcomes: RolloutOutcome[]): OutcomeSummary {
	const n = outcomes.length;
	const share = (kind: RolloutOutcome["outcome"]) =>
		outcomes.filter((o) => o.outcome === kind).length / n;
	const exposure = (kind: RolloutOutcome["outcome"]) =>
		median(outcomes.filter((o) => o.outcome === kind).map((o) => o.exposure));
	return {
		rollouts: n,
		aborted: share("aborted"),
		promoted: share("promoted"),
		running: share("running"),
		medianMinutes: median(outcomes.filter((o) => o.outcome !== "running").map((o) => o.minutes)),
		medianExposure: exposure("aborted"),
		medianExposurePromoted: exposure("promoted"),
	};
}
