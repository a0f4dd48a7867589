/**
 * Demo model v2: a tiny logistic regression over words with embedded weights
 * and negation handling (a negation flips the next three words). It knows
 * words v1 does not and reads "not good" as negative, so the two disagree on
 * some inputs.
 */
import { modelWorker, tokenize } from "./knobs";

const WEIGHTS: Record<string, number> = {
	good: 1.4,
	great: 1.9,
	excellent: 2.3,
	love: 2.1,
	loved: 2.1,
	like: 0.9,
	happy: 1.5,
	fantastic: 2.2,
	amazing: 2.2,
	wonderful: 2.0,
	best: 1.7,
	nice: 1.1,
	fun: 1.2,
	enjoy: 1.4,
	enjoyed: 1.4,
	perfect: 2.1,
	brilliant: 2.0,
	awesome: 2.0,
	fast: 0.8,
	helpful: 1.3,
	recommend: 1.6,
	smooth: 1.0,
	solid: 0.9,
	bad: -1.5,
	terrible: -2.3,
	awful: -2.2,
	hate: -2.2,
	hated: -2.2,
	sad: -1.2,
	poor: -1.4,
	worst: -2.4,
	boring: -1.3,
	slow: -0.9,
	broken: -1.8,
	ugly: -1.2,
	annoying: -1.4,
	disappointing: -1.9,
	useless: -2.0,
	horrible: -2.3,
	angry: -1.3,
	wrong: -1.0,
	fail: -1.5,
	failed: -1.5,
	refund: -1.2,
	crash: -1.7,
	meh: -0.6,
};
const NEGATIONS = new Set(["not", "never", "no", "hardly", "without"]);
const BIAS = 0.1;
const NEGATION_SPAN = 3;

export function classify(text: string) {
	let logit = BIAS;
	let negatedFor = 0;
	for (const token of tokenize(text)) {
		if (NEGATIONS.has(token)) {
			negatedFor = NEGATION_SPAN;
			continue;
		}
		const weight = WEIGHTS[token] ?? 0;
		logit += negatedFor > 0 ? -0.8 * weight : weight;
		if (negatedFor > 0) negatedFor--;
	}
	const score = 1 / (1 + Math.exp(-logit));
	return {
		label: score >= 0.5 ? ("positive" as const) : ("negative" as const),
		score: Math.round(score * 1000) / 1000,
	};
}

export default modelWorker("v2", classify);
