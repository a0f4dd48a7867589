/**
 * The rows a rollout's analysis reads, from the object's metric tables:
 * every per-minute row of the current rollout (its epoch) from its start,
 * requests pinned by a QA override (threshold -1) left out, and the feedback
 * per minute of request.
 */
import { epochOf, type RolloutState } from "../config/state";
import { minuteRange } from "../metrics/minutes";
import type { AnalysisWindows } from "../rollout/analysis";
import { feedbackMinutes, minuteRows } from "./metrics-tables";

/** The rows the analysis of `state` reads at `now`. */
export function rowsFor(sql: SqlStorage, state: RolloutState, now: number): AnalysisWindows {
	const end = now + 60_000;
	const since = state.since ? Date.parse(state.since) : now;
	const epoch = epochOf(state);
	const started = epoch > 0 ? epoch : since;
	const range = minuteRange(started, end);
	return {
		minutes: minuteRows(sql, ...range, epoch).filter((row) => row.threshold >= 0),
		feedback: feedbackMinutes(sql, ...range, epoch),
	};
}
