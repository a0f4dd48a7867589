/**
 * The statistics engine: pure functions over sufficient statistics (counts,
 * means, variances, histogram bins). No I/O, no platform imports.
 * Conventions: every comparison is oriented b − a, b the candidate; p-values
 * are two-sided unless a function says otherwise.
 */
export { type MannWhitneyResult, mannWhitneyBuckets } from "./mann-whitney";
export {
	emptyMoments,
	type Moments,
	mergeMoments,
	momentsOf,
	pushValue,
	sampleVariance,
} from "./moments";
export { moreSamplesNeeded, requiredSampleSize, type SampleSizeInput } from "./power";
export {
	conditionalRateTest,
	nullVarianceOfDifference,
	type Proportion,
	type ProportionTestResult,
	twoProportionZTest,
	wilsonInterval,
} from "./proportions";
export {
	type Bin,
	binnedQuantile,
	binsTotal,
	type QuantileEstimate,
	type QuantileShiftResult,
	quantileInterval,
	quantileShiftTest,
} from "./quantiles";
export {
	type Alternative,
	DEFAULT_N_STAR,
	effectiveSampleSize,
	mixtureRhoSquared,
	type SequentialInput,
	type SequentialResult,
	sequentialTest,
} from "./sequential";
export {
	binomialUpperTail,
	chiSquareSf,
	erfc,
	normalCdf,
	normalQuantile,
	normalSf,
	normalTwoSided,
} from "./special";
export { type SrmCheck, type SrmResult, srmCheck, srmTest } from "./srm";
export type { Interval } from "./types";
export { relativeDifference, type SampleSummary, type WelchResult, welchTTest } from "./welch";
