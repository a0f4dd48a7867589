/**
 * Step 2 of the request path: calling the planned backend, falling back to
 * the champion when the plan allows and the candidate fails, and feeding
 * what happened to the isolate's breaker and to the recorder. Whatever the
 * backend's kind, it is resolved and sent through its adapter
 * (src/backends/); nothing here asks which kind it is.
 */
import { callBackend, unresolved } from "../backends/call";
import { type BackendResult, isVariantFault, type Outcome } from "../backends/outcome";
import { resolveUpstream } from "../backends/registry";
import type { ForwardInit, UpstreamTarget } from "../backends/types";
import type { Backend, DeploymentSpec } from "../config/spec";
import { logError as log } from "../lib/log";
import type { AnswerStats } from "../llm/answer";
import type { Observation, ObservedVariant, Recorder } from "../metrics/observation";
import { type Breaker, breakerStats } from "./breaker";
import type { Plan } from "./plan";

/** What calling a deployment's backends needs besides the plan. */
export interface CallContext {
	spec: DeploymentSpec;
	/** The worker's bindings and secrets: backends are resolved from them. */
	env: object;
	target: UpstreamTarget;
	recorder: Recorder;
	/** This isolate's breaker on the candidate. */
	breaker: Breaker;
}

const UNRECORDED: Recorder = { observe() {}, compare() {}, wantsSample: () => false };

/** The recorder for the request: a preflight or a HEAD counts for nothing. */
export function recorderOf(plan: Plan, call: CallContext): Recorder {
	return plan.predicting ? call.recorder : UNRECORDED;
}

/**
 * Calls the plan's first variant; a candidate failing (5xx, timeout,
 * network) is answered by the champion when the plan allows it, and its
 * failure is observed and fed to the breaker at once. A diverted request
 * (open breaker) is observed as the candidate's here. The answer served is
 * observed by {@link observeAnswer} once its body is done.
 */
export async function callWithFallback(
	plan: Plan,
	call: CallContext,
	init: ForwardInit,
): Promise<BackendResult> {
	const { spec } = call;
	const result = await send(spec[plan.first], call, init);
	if (plan.diverted) {
		breakerStats.diverted += 1;
		recorderOf(plan, call).observe({
			...observation(plan, "candidate", result, false),
			diverted: true,
		});
		return result;
	}
	if (!plan.mayFallBack || !isVariantFault(result.outcome)) return result;
	feedBreaker(plan, call, result.outcome);
	recorderOf(plan, call).observe(observation(plan, "candidate", result, true));
	// The failed answer's body is never read: release its connection.
	void result.response?.body?.cancel().catch(() => {});
	plan.claims.fallback = true;
	return send(spec.champion, call, init);
}

/**
 * Observes the answer served when it is the assigned variant's own (no
 * fallback, no breaker), once complete, with what its body showed; feeds it
 * to the breaker.
 */
export function observeAnswer(
	plan: Plan,
	call: CallContext,
	final: BackendResult,
	answer?: AnswerStats,
): void {
	if (plan.diverted || plan.claims.fallback) return;
	feedBreaker(plan, call, final.outcome);
	const seen = observation(plan, plan.assigned, final, false);
	if (answer) seen.answer = answer;
	recorderOf(plan, call).observe(seen);
}

/** One observation of the request, for the variant it is charged to. */
export function observation(
	plan: Plan,
	variant: ObservedVariant,
	result: BackendResult,
	fallback: boolean,
): Observation {
	return {
		deployment: plan.claims.deployment,
		variant,
		threshold: plan.segment.threshold,
		epoch: plan.segment.epoch,
		time: plan.claims.time,
		outcome: result.outcome,
		status: result.status,
		latencyMs: result.latencyMs,
		fallback,
	};
}

function send(backend: Backend, call: CallContext, init: ForwardInit): Promise<BackendResult> {
	const upstream = resolveUpstream(backend, call.env, call.target);
	if ("error" in upstream) return Promise.resolve(unresolved(upstream.error));
	return callBackend(upstream, init, call.spec.timeoutMs);
}

/** The breaker watches the candidate's own requests; a client's fault tells it nothing. */
function feedBreaker(plan: Plan, call: CallContext, outcome: Outcome): void {
	if (!plan.feedsBreaker || outcome === "client") return;
	if (call.breaker.record(Date.now(), isVariantFault(outcome))) {
		breakerStats.trips += 1;
		log("breaker_opened", { deployment: plan.claims.deployment });
	}
}
