/**
 * The signal interface: a metric Switchyard judges a variant on — its name,
 * unit and worse direction, the guardrails it runs on a canary, its A/B
 * comparison and its exported measures — declared in one module per metric
 * and listed once in registry.ts. Analysis, power, the α split, exports and
 * the dashboard read the registry; nothing downstream switches on a
 * signal's name. Pure.
 */
import type { DeploymentSpec } from "../config/spec";
import type { VariantAggregate } from "../metrics/aggregate";
import type { Interval, MeanStratum, Moments } from "../stats";
import type { AlignedStrata, Stratum } from "./strata";

/** ratio: shown as a percentage; ms; currency: the backends' price unit; tokens; score: feedback or a judge's. */
export type SignalUnit = "ratio" | "ms" | "currency" | "tokens" | "tokens_per_second" | "score";

/** Which direction of a metric is worse for the candidate. */
export type Worse = "higher" | "lower";

/** How a report row is shown: a short label, the unit, and which way is worse. */
export interface SignalDisplay {
	label: string;
	unit: SignalUnit;
	worse: Worse;
}

/** The always-valid p-values a look carries from the previous one, by test key. */
export interface TestMemory {
	/** The running minimum of the test's p-value so far (1 before its first look). */
	prior(key: string): number;
	/** Records the test's p-value at this look; returns it. */
	remember(key: string, pValue: number): number;
}

export interface GuardrailOptions {
	/** This guardrail's share of the rollout's alpha. */
	alpha: number;
	previousPValue: number;
	nStar?: number;
}

export interface GuardrailResult extends SignalDisplay {
	/** "error_rate", "latency_p95", "ttft_p95", "feedback", "cost", …: also its test's memory key. */
	name: string;
	status: "pass" | "fail" | "insufficient";
	/**
	 * The champion's and the candidate's value of the metric (rate, quantile in
	 * ms, mean). The champion's is taken over the candidate's minutes (the
	 * champion as it was when and where the candidate served).
	 */
	champion: number;
	candidate: number;
	/** candidate − champion. */
	difference: number;
	/** The tolerated worsening, in the metric's unit (ms for latency). */
	margin: number;
	/** Always-valid p-value of "worse by more than the margin" (running minimum over looks). */
	pValue: number;
	/** This guardrail's share of the rollout's alpha. */
	alpha: number;
	/** Confidence sequence for candidate − champion (one-sided: the bound on the worse side). */
	ci: Interval;
	/** Variance inflation from minute-to-minute overdispersion (1: none measured). */
	dispersion: number;
	/** Minutes (strata) compared. */
	strata: number;
	/** One sentence for people, with the numbers. */
	detail: string;
}

/** What one look gives every guardrail: the rollout's minutes, paired within time. */
export interface Evidence {
	spec: DeploymentSpec;
	/** The champion and the compared arm per minute and routing threshold. */
	strata: readonly Stratum[];
	/** Every stratum's latency histograms on one dense layout (computed once per look). */
	aligned: AlignedStrata;
	/** Feedback per matured request minute; null where feedback does not apply (shadow copies). */
	feedback: MeanStratum[] | null;
}

/** Where a canary's power is computed: its step schedule at the observed traffic. */
export interface PowerContext {
	spec: DeploymentSpec;
	/** Requests per minute over the rollout so far, both arms. */
	requestsPerMinute: number;
	/** The champion over the rollout, with its pooled latency histogram. */
	champion: VariantAggregate;
	/** Each guardrail's alpha. */
	alpha: number;
}

/** How long a guardrail needs to catch a reference harm. */
export interface DetectionTime {
	name: string;
	/** The harm it is computed for, in words. */
	reference: string;
	/** Expected minutes from the rollout's start to an abort; null when it cannot be computed yet. */
	minutes: number | null;
	/** False when the candidate would be promoted before that. */
	beforePromotion: boolean;
}

/** One guardrail a signal runs: its name (its α share and memory key) and its test. */
export interface Guardrail {
	name: string;
	run(evidence: Evidence, options: GuardrailOptions): GuardrailResult;
	/** Expected minutes to catch a reference harm at the observed traffic; absent where not computed. */
	detection?(context: PowerContext, promoteAfter: number | null): DetectionTime;
}

/** The modes a guardrail can run in: a canary, or a shadow's copies (no feedback there). */
export type GuardrailMode = "canary" | "shadow";

/** A/B metric names (the spec's `ab.metric`). */
export type AbMetric = "error_rate" | "latency" | "feedback" | "ttft" | "cost" | "tokens";

/** What one look gives every A/B comparison. */
export interface AbEvidence {
	spec: DeploymentSpec;
	strata: readonly Stratum[];
	/** Feedback per matured request minute. */
	feedback: MeanStratum[];
	champion: VariantAggregate;
	candidate: VariantAggregate;
	memory: TestMemory;
}

export interface MetricComparison extends SignalDisplay {
	metric: AbMetric;
	/** The champion's value over the same minutes as the candidate's (stratified). */
	champion: number;
	candidate: number;
	difference: number;
	/** Fixed-horizon interval for candidate − champion. */
	ci: Interval;
	relative: { estimate: number; ci: Interval } | null;
	/** Fixed-horizon two-sided p-value (valid for one look at a planned sample size). */
	pValue: number;
	/** Always-valid two-sided p-value (valid at every look). */
	alwaysValidPValue: number;
	n: { champion: number; candidate: number };
	/** Latency only: the Mann–Whitney p-value on the pooled histograms (robust to outliers). */
	mannWhitneyPValue?: number;
	/** Variance inflation from minute-to-minute overdispersion (1: none measured). */
	dispersion: number;
	insufficient?: string;
}

/** A signal as an A/B metric. */
export interface AbComparison {
	metric: AbMetric;
	/** Shown in every A/B report, or only when measured (LLM answers) or deciding. */
	always: boolean;
	measured(champion: VariantAggregate, candidate: VariantAggregate): boolean;
	compare(evidence: AbEvidence): MetricComparison;
	/**
	 * Each arm's variance per unit, for "needs about N more": from the
	 * comparison (a rate) or the arms' moments.
	 */
	variances(
		primary: MetricComparison,
		arms: { champion: VariantAggregate; candidate: VariantAggregate },
		feedback: { champion: Moments; candidate: Moments },
	): [number, number];
}

/** One row of the metrics export: a variant's aggregate for one minute (or a window) and its feedback. */
export interface MeasuredRow {
	variant: "champion" | "candidate" | "shadow";
	aggregate: VariantAggregate;
	feedback: Moments;
}

/** A number exported per variant: in the JSON metrics rows, the CSV and (optionally) Prometheus. */
export interface Measure {
	/** Where it sits in the JSON metrics rows, dot-separated ("latency.p95"). */
	path: string;
	/** Its CSV column. */
	csv: string;
	/**
	 * A Prometheus gauge over the export's window: its family, help (the window
	 * is appended), labels, and when a variant's row has it (always by default).
	 */
	prometheus?: {
		name: string;
		help: string;
		labels?: Record<string, string>;
		when?(row: MeasuredRow): boolean;
	};
	/** The value; undefined when not measured (left out of JSON, empty in CSV, absent in Prometheus). */
	read(row: MeasuredRow): number | undefined;
}

export interface Signal {
	/** Stable name, for people and docs. */
	name: string;
	/** The guardrails it runs under the spec ([] when off): fixed by the spec, so α splits the same at every look. */
	guardrails?(spec: DeploymentSpec, mode: GuardrailMode): Guardrail[];
	/** Its A/B comparison, when it can decide an A/B test. */
	ab?: AbComparison;
	/** What it exports per variant, in order. */
	measures?: readonly Measure[];
}
