/**
 * Comparing a champion's and a shadow candidate's outputs: exact JSON (or
 * text) equality, equality of one field, numeric closeness of one field, or
 * text similarity above a threshold. Pure: takes the two response texts (a
 * stream's assembled text) and the spec's comparison, returns a verdict.
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
			agreed: sameText(championText, candidateText, comparison),
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
	if (typeof a === "string" && typeof b === "string")
		return { agreed: sameText(a, b, comparison), champion: a, candidate: b };
	return { agreed: deepEqual(a, b), champion: a, candidate: b };
}

function sameText(a: string, b: string, comparison: Comparison): boolean {
	return comparison.similarity === undefined
		? a === b
		: textSimilarity(a, b) >= comparison.similarity;
}

/** Lowercase words, punctuation and spacing dropped: what "the same text" means for similarity. */
export function words(text: string): string[] {
	return text
		.toLowerCase()
		.normalize("NFKC")
		.split(/[^\p{L}\p{N}]+/u)
		.filter((w) => w.length > 0);
}

/**
 * Similarity of two texts, 0–1: the F1 overlap of their word multisets
 * (2·|A∩B| / (|A| + |B|)). Symmetric; 1 for texts with the same words
 * (whatever the case, punctuation or spacing); 1 for two empty texts.
 */
export function textSimilarity(a: string, b: string): number {
	const wa = words(a);
	const wb = words(b);
	if (wa.length + wb.length === 0) return 1;
	const counts = new Map<string, number>();
	for (const w of wa) counts.set(w, (counts.get(w) ?? 0) + 1);
	let shared = 0;
	for (const w of wb) {
		const left = counts.get(w) ?? 0;
		if (left > 0) {
			shared += 1;
			counts.set(w, left - 1);
		}
	}
	return (2 * shared) / (wa.length + wb.length);
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
