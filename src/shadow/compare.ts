/**
 * Comparing a champion's and a shadow candidate's outputs: exact JSON
 * equality, equality of one field, or numeric closeness of one field. Pure:
 * takes the two response texts and the spec's comparison, returns a verdict.
 */
import type { Comparison } from "../config/spec";

export type ComparisonVerdict =
	| { agreed: boolean; champion: unknown; candidate: unknown }
	| { agreed: null; reason: string };

/** Compares two JSON response bodies as the spec says. */
export function compareOutputs(
	championText: string,
	candidateText: string,
	comparison: Comparison,
): ComparisonVerdict {
	const champion = parseJson(championText);
	const candidate = parseJson(candidateText);
	if (champion === undefined || candidate === undefined) {
		if (comparison.field !== undefined) return { agreed: null, reason: "a response is not JSON" };
		return {
			agreed: championText === candidateText,
			champion: championText,
			candidate: candidateText,
		};
	}
	if (comparison.field === undefined) {
		return { agreed: deepEqual(champion, candidate), champion, candidate };
	}
	const a = fieldAt(champion, comparison.field);
	const b = fieldAt(candidate, comparison.field);
	if (a === undefined || b === undefined)
		return { agreed: null, reason: `field ${comparison.field} is missing` };
	if (comparison.tolerance !== undefined) {
		if (typeof a !== "number" || typeof b !== "number") {
			return { agreed: null, reason: `field ${comparison.field} is not numeric` };
		}
		return { agreed: Math.abs(a - b) <= comparison.tolerance, champion: a, candidate: b };
	}
	return { agreed: deepEqual(a, b), champion: a, candidate: b };
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** The value at a dot path such as "result.label" or "choices.0.text". */
export function fieldAt(value: unknown, path: string): unknown {
	let current: unknown = value;
	for (const key of path.split(".")) {
		if (current === null || typeof current !== "object") return undefined;
		current = (current as Record<string, unknown>)[key];
	}
	return current;
}

/** Structural equality of JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	if (Array.isArray(a) && Array.isArray(b)) {
		return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
	}
	const ka = Object.keys(a);
	const kb = Object.keys(b);
	if (ka.length !== kb.length) return false;
	const rb = b as Record<string, unknown>;
	const ra = a as Record<string, unknown>;
	return ka.every((k) => Object.hasOwn(rb, k) && deepEqual(ra[k], rb[k]));
}
