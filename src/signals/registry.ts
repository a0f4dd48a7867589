/**
 * The signals Switchyard judges and exports, in report order: the one list
 * the analysis (guardrails, A/B metrics, the α split), the power report, the
 * CSV and JSON metrics, the Prometheus export and the dashboard read. Adding
 * a metric is one module (see types.ts's Signal) listed here, plus its test;
 * where the spec configures it, its fields in config/spec.ts.
 */
import type { DeploymentSpec } from "../config/spec";
import { agreement } from "./agreement";
import { answerTimings } from "./answer-timings";
import { cost } from "./cost";
import { errorRate } from "./error-rate";
import { feedback } from "./feedback";
import { latency } from "./latency";
import { tokens } from "./tokens";
import { serving, traffic } from "./traffic";
import { ttft } from "./ttft";
import type { AbComparison, AbMetric, Guardrail, GuardrailMode, Measure, Signal } from "./types";

export const SIGNALS: readonly Signal[] = [
	traffic,
	errorRate,
	serving,
	latency,
	feedback,
	agreement,
	ttft,
	answerTimings,
	cost,
	tokens,
];

/**
 * The guardrails a canary (or a shadow's copies) runs under the spec, in
 * order. Fixed by the spec, so the rollout's α splits the same way at every
 * look.
 */
export function guardrailsOf(spec: DeploymentSpec, mode: GuardrailMode): Guardrail[] {
	return SIGNALS.flatMap((signal) => signal.guardrails?.(spec, mode) ?? []);
}

/** Every A/B comparison, in report order. */
export const AB_COMPARISONS: readonly AbComparison[] = SIGNALS.flatMap((signal) =>
	signal.ab ? [signal.ab] : [],
);

/** The comparison that decides an A/B test on `metric`. */
export function abComparison(metric: AbMetric): AbComparison {
	const found = AB_COMPARISONS.find((c) => c.metric === metric);
	if (!found) throw new RangeError(`no signal compares ${metric}`);
	return found;
}

/** Every exported measure, in column order. */
export const MEASURES: readonly Measure[] = SIGNALS.flatMap((signal) => signal.measures ?? []);
