/**
 * The A/B comparison of a mean within time: the stratified difference over
 * the minutes both arms served, with its fixed-horizon interval and p-value
 * and an always-valid two-sided p-value carried from look to look. Every A/B
 * metric that is a mean (latency, feedback, TTFT, cost, tokens) uses it. Pure.
 */
import {
	type MeanStratum,
	normalQuantile,
	normalTwoSided,
	relativeDifference,
	sequentialTest,
	stratifiedDifference,
} from "../stats";
import type { AbMetric, MetricComparison, SignalDisplay, TestMemory } from "./types";

const Z95 = normalQuantile(0.975);

export function meanComparison(
	metric: AbMetric,
	display: SignalDisplay,
	strata: readonly MeanStratum[],
	alpha: number,
	memory: TestMemory,
): MetricComparison {
	const d = stratifiedDifference(strata);
	const key = `ab_${metric}`;
	const test = sequentialTest({
		estimate: d.estimate,
		variance: d.variance,
		n: d.n,
		alpha,
		previousPValue: memory.prior(key),
	});
	memory.remember(key, test.pValue);
	const usable = !d.insufficient && d.variance > 0;
	return {
		metric,
		...display,
		champion: d.champion,
		candidate: d.candidate,
		difference: d.estimate,
		ci: usable ? [d.estimate - Z95 * d.se, d.estimate + Z95 * d.se] : [null, null],
		relative: usable
			? relativeDifference(d.champion, d.championVariance, d.candidate, d.candidateVariance, 0.95)
			: null,
		pValue: usable ? normalTwoSided(d.estimate / d.se) : 1,
		alwaysValidPValue: test.pValue,
		n: { champion: d.na, candidate: d.nb },
		dispersion: d.dispersion.a,
		...(d.insufficient
			? { insufficient: d.insufficient }
			: usable
				? {}
				: { insufficient: "no variance yet" }),
	};
}
