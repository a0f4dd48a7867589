/**
 * How long a test polls for a condition before it gives up: a guard against
 * a hang, never a time budget. Tests wait for conditions (a marker stored,
 * shards settled, a decision made); on a loaded machine they hold later, so
 * the guard is far above what an idle machine needs.
 */
export const CONDITION = { timeout: 30_000, interval: 25 } as const;
