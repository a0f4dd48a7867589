/**
 * Running a rollout's guardrails from the signal registry: each with its
 * share of the rollout's alpha (split evenly across every guardrail the spec
 * turns on, plus the sample-ratio test when it aborts), its previous
 * p-value, and N*. A healthy canary is then falsely aborted with probability
 * at most alpha overall; no second test can veto a failing one. Pure.
 */
import type { DeploymentSpec } from "../../config/spec";
import { guardrailsOf } from "../../signals/registry";
import type { Evidence, GuardrailMode, GuardrailResult, TestMemory } from "../../signals/types";

/** Each guardrail's alpha: the rollout's alpha over the guardrails (and `extraShares` other tests). */
export function guardrailAlpha(spec: DeploymentSpec, mode: GuardrailMode, extraShares = 0): number {
	return spec.canary.alpha / (guardrailsOf(spec, mode).length + extraShares);
}

export function runGuardrails(
	mode: GuardrailMode,
	evidence: Evidence,
	alpha: number,
	memory: TestMemory,
): GuardrailResult[] {
	const nStar = evidence.spec.canary.nStar;
	return guardrailsOf(evidence.spec, mode).map((guardrail) => {
		const result = guardrail.run(evidence, {
			alpha,
			previousPValue: memory.prior(guardrail.name),
			nStar,
		});
		memory.remember(result.name, result.pValue);
		return result;
	});
}
