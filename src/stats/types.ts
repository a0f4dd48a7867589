/** A closed interval [lower, upper]; null is an unbounded side. */
export type Interval = [lower: number | null, upper: number | null];
