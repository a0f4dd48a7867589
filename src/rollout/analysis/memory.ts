/**
 * The analysis memory: each always-valid test's running-minimum p-value,
 * carried from look to look within one rollout (small, JSON-safe). A memory
 * of another rollout or an older shape is discarded: its p-values belong to
 * other tests. Pure.
 */
import type { TestMemory } from "../../signals/types";

export interface AnalysisMemory {
	/** Memories of an older shape are discarded: their p-values belong to other tests. */
	version: 2;
	/** The rollout (its startedAt) the p-values belong to. */
	rollout: string | null;
	/** Running minimum of each test's always-valid p-value, by test key. */
	pValues: Record<string, number>;
}

export const EMPTY_MEMORY: AnalysisMemory = { version: 2, rollout: null, pValues: {} };

/** A look's memory: the previous look's p-values in, this look's out. */
export interface LookMemory extends TestMemory {
	/** The memory to store after the look. */
	next(): AnalysisMemory;
}

export function lookMemory(
	memory: AnalysisMemory | null | undefined,
	rollout: string | null,
): LookMemory {
	const previous =
		memory?.version === 2 &&
		memory.rollout === rollout &&
		typeof memory.pValues === "object" &&
		memory.pValues !== null
			? memory.pValues
			: {};
	const pValues: Record<string, number> = {};
	return {
		prior(key) {
			const p = previous[key];
			return typeof p === "number" && p >= 0 && p <= 1 ? p : 1;
		},
		remember(key, p) {
			pValues[key] = p;
			return p;
		},
		next: () => ({ version: 2, rollout, pValues }),
	};
}
