/**
 * When an isolate flushes a deployment's pending batch: once it holds
 * `batchSize` items (observations and feedback values) or its oldest item is
 * `flushMs` old, whichever comes first. Pure; the recorder applies
 * {@link flushDue}, the capacity model (scripts/capacity) {@link flushCycleMs},
 * so both follow the same rule.
 */

export interface FlushLimits {
	/** Items (observations + feedback values) that trigger a flush (METRICS_BATCH_SIZE). */
	batchSize: number;
	/** Oldest item's age that triggers a flush, ms (METRICS_FLUSH_MS). */
	flushMs: number;
}

/** True when a batch holding `items`, the oldest `ageMs` old, must go now. */
export function flushDue(items: number, ageMs: number, limits: FlushLimits): boolean {
	return items >= limits.batchSize || ageMs >= limits.flushMs;
}

/**
 * The mean time between one isolate's flushes of one deployment when items
 * arrive at `itemsPerSecond` (a Poisson stream): a batch opens with its first
 * item and goes after `batchSize` items or `flushMs`, whichever comes first;
 * the next opens with the next item (1 / rate later on average).
 * Size-bound: batchSize / rate. Age-bound: flushMs + 1 / rate.
 */
export function flushCycleMs(itemsPerSecond: number, limits: FlushLimits): number {
	if (itemsPerSecond <= 0) return Number.POSITIVE_INFINITY;
	const gap = 1000 / itemsPerSecond;
	return Math.min(limits.flushMs + gap, limits.batchSize * gap);
}
