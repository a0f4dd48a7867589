/**
 * What every signal (a metric Switchyard judges a variant on) says about
 * itself, for the reports, exports and the dashboard: its unit and which
 * direction is worse. Pure.
 */

/** ratio: shown as a percentage; ms; currency: the backends' price unit; tokens; score: feedback or a judge's. */
export type SignalUnit = "ratio" | "ms" | "currency" | "tokens" | "tokens_per_second" | "score";

/** Which direction of a metric is worse for the candidate. */
export type Worse = "higher" | "lower";

/** How a report row is shown: a short label, the unit, and which way is worse. */
export interface SignalDisplay {
	label: string;
	unit: SignalUnit;
	worse: Worse;
}
