/** The analysis windows of a rollout, read from the object's metric tables. */
import { epochOf, type RolloutState } from "../config/state";
import { minuteRange } from "../metrics/windows";
import type { AnalysisWindows } from "../rollout/analysis";
import { aggregateRows, feedbackWindow } from "./metrics-tables";

export function windowsFor(sql: SqlStorage, state: RolloutState, now: number): AnalysisWindows {
	const end = now + 60_000;
	const since = state.since ? Date.parse(state.since) : now;
	const epoch = epochOf(state);
	const started = epoch > 0 ? epoch : since;
	// Only this rollout's observations; requests pinned by a QA override (threshold -1) never count.
	const served = (rows: ReturnType<typeof aggregateRows>) =>
		rows.filter((row) => row.threshold >= 0);
	return {
		step: served(aggregateRows(sql, ...minuteRange(since, end), epoch)),
		rollout: served(aggregateRows(sql, ...minuteRange(started, end), epoch)),
		feedback: feedbackWindow(sql, ...minuteRange(started, end), epoch),
	};
}
