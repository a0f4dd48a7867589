/**
 * Demo model v1: a word-list sentiment classifier. Counts positive and
 * negative words; blind to negation ("not good" is positive to it).
 */
import { modelWorker, tokenize } from "./knobs";

const POSITIVE = new Set([
	"good",
	"great",
	"excellent",
	"love",
	"loved",
	"like",
	"happy",
	"fantastic",
	"amazing",
	"wonderful",
	"best",
	"nice",
	"fun",
	"enjoy",
	"enjoyed",
	"perfect",
	"brilliant",
	"awesome",
	"fast",
	"helpful",
]);
const NEGATIVE = new Set([
	"bad",
	"terrible",
	"awful",
	"hate",
	"hated",
	"sad",
	"poor",
	"worst",
	"boring",
	"slow",
	"broken",
	"ugly",
	"annoying",
	"disappointing",
	"useless",
	"horrible",
	"angry",
	"wrong",
	"fail",
	"failed",
]);

export function classify(text: string) {
	let positive = 0;
	let negative = 0;
	for (const token of tokenize(text)) {
		if (POSITIVE.has(token)) positive++;
		else if (NEGATIVE.has(token)) negative++;
	}
	const score = (positive + 1) / (positive + negative + 2);
	return {
		label: score >= 0.5 ? ("positive" as const) : ("negative" as const),
		score: round(score),
	};
}

function round(x: number): number {
	return Math.round(x * 1000) / 1000;
}

export default modelWorker("v1", classify);
