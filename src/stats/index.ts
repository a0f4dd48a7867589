/**
 * The statistics engine: pure functions over sufficient statistics (counts,
 * means, variances, histogram bins). No I/O, no platform imports.
 * Conventions: every comparison is oriented b − a, b the candidate; p-values
 * are two-sided unless a function says otherwise.
 */
export {
	COUNT_PRIOR_SCALE,
	type CountStratum,
	type CountTestOptions,
	type CountTestResult,
	countMixtureTest,
	MAX_LOG_RATIO,
} from "./counts";
export {
	type Dispersion,
	type DispersionAnchor,
	dispersionFactor,
	estimateDispersion,
	MIN_DISPERSION_STRATA,
	NO_DISPERSION,
	type PearsonPoint,
	seriesDispersion,
} from "./dispersion";
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
	type QuantileStratum,
	quantileInterval,
	quantileOfMass,
	quantileShiftTest,
	type StratifiedQuantile,
	stratifiedQuantileTest,
	valueAtRank,
} from "./quantiles";
export {
	type Alternative,
	boundary,
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
export {
	type SequentialSrm,
	SRM_PRIOR_SCALE,
	type SrmCheck,
	type SrmResult,
	sequentialSrm,
	srmCheck,
	srmTest,
} from "./srm";
export { type MeanStratum, type StratifiedDifference, stratifiedDifference } from "./stratified";
export type { Interval } from "./types";
export { relativeDifference, type SampleSummary, type WelchResult, welchTTest } from "./welch";
