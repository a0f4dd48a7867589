/**
 * The controller's decision: given the spec, the current state and the
 * analysis report, what happens next. Pure and total: every state gets a
 * decision, most of them "hold" with a reason a person can act on.
 *
 * Canary, in order: a hard error-rate ceiling aborts at once; a failing
 * guardrail aborts as soon as its always-valid test proves harm, however
 * little data the step has (the tests are valid at any sample size); a
 * sample ratio mismatch holds (or aborts, per spec); stepping up needs
 * minRequests on both sides and the bake time; an approval gate
 * (canary.approvalBefore) holds until an operator approves; a step window
 * (canary.stepWindows) holds until it opens; then the canary steps up, or is
 * promoted when the next step is 100 %. Gates and windows come after the
 * guardrails, so an abort never waits for either. An underpowered canary (a
 * harmful candidate would take more than a day to catch at its traffic) says
 * so in every hold and step.
 */
import type { DeploymentSpec } from "../config/spec";
import type { RolloutState } from "../config/state";
import { formatP, percent } from "../lib/format";
import type { AbReport, AnalysisReport, CanaryReport, ShadowReport } from "./analysis";
import { advance } from "./state-machine";
import { describeWindow, insideWindow, nextOpening } from "./step-windows";
import { needsApproval, nextStepAbove, promotesAfter } from "./steps";

export type DecisionKind =
	| "none"
	| "hold"
	| "step_up"
	| "promote"
	| "abort"
	| "conclude"
	| "start_canary";

export interface Decision {
	kind: DecisionKind;
	/** Stable code of the situation, so a repeated hold is logged once. */
	code: string;
	reason: string;
	/** The new state when the decision changes it. */
	next?: RolloutState;
}

export function decide(
	spec: DeploymentSpec,
	state: RolloutState,
	report: AnalysisReport,
	now: number,
): Decision {
	switch (state.status) {
		case "pending":
			return none("pending", "not started");
		case "paused":
			return none("paused", "paused: automatic steps are stopped until resumed");
		case "aborted":
		case "promoted":
		case "concluded":
			return none(state.status, `${state.status}: nothing left to decide`);
	}
	if (report.strategy === "shadow") return decideShadow(spec, state, report, now);
	if (report.strategy === "ab") return decideAb(spec, state, report, now);
	return decideCanary(spec, state, report, now);
}

function none(code: string, reason: string): Decision {
	return { kind: "none", code, reason };
}

function hold(code: string, reason: string): Decision {
	return { kind: "hold", code, reason };
}

/** The controller's transitions (an approval belongs to the step it let through: advance clears it). */
function transition(
	state: RolloutState,
	patch: Partial<RolloutState>,
	reason: string,
	now: number,
): RolloutState {
	return advance(state, patch, { reason, actor: "controller", now });
}

/**
 * The gates in front of a step that has passed: an approval it needs, then
 * the step window. Null when the step may be taken now.
 */
function gate(
	spec: DeploymentSpec,
	state: RolloutState,
	target: number,
	passed: string,
	now: number,
): Decision | null {
	const policy = spec.canary;
	if (needsApproval(policy, state, target)) {
		return hold(
			"awaiting_approval",
			`awaiting approval to go to ${target} %: ${passed}; approve with \`npx switchyard approve ${spec.name}\``,
		);
	}
	const window = policy.stepWindows;
	if (window && !insideWindow(window, now)) {
		const opens = nextOpening(window, now);
		const approved = state.approved === target ? "approved; " : "";
		return hold(
			"outside_window",
			`${approved}waiting for the step window (${describeWindow(window)}) to go to ${target} %${opens === null ? "" : `: opens ${new Date(opens).toISOString()}`}; ${passed}`,
		);
	}
	return null;
}

function decideCanary(
	spec: DeploymentSpec,
	state: RolloutState,
	report: CanaryReport,
	now: number,
): Decision {
	const policy = spec.canary;
	const { step, ceiling } = report;
	if (state.weight <= 0)
		return hold(
			"zero_weight",
			"weight is 0: no candidate traffic to evaluate; set a weight or abort",
		);
	if (state.weight >= 100) {
		const reason = "the candidate serves 100 %: nothing left to compare, promoted";
		return {
			kind: "promote",
			code: "promoted",
			reason,
			next: transition(state, { status: "promoted", weight: 100 }, reason, now),
		};
	}
	if (ceiling.breached) {
		const reason = `aborted: candidate error rate ${percent(ceiling.candidateErrorRate)} over ${ceiling.candidateRequests} requests at ${state.weight} % exceeds the ceiling of ${percent(ceiling.limit)}`;
		return {
			kind: "abort",
			code: "ceiling",
			reason,
			next: transition(state, { status: "aborted", weight: 0 }, reason, now),
		};
	}
	const failed = report.guardrails.filter((g) => g.status === "fail");
	if (failed.length > 0) {
		const reason = `aborted at ${state.weight} %: ${failed.map((g) => `${g.name} failed — ${g.detail}`).join("; ")}`;
		return {
			kind: "abort",
			code: "guardrail",
			reason,
			next: transition(state, { status: "aborted", weight: 0 }, reason, now),
		};
	}
	if (report.srm.mismatch) {
		const share = (x: number) => `${(x * 100).toFixed(2)} %`;
		const reason = `sample ratio mismatch at ${state.weight} %: ${step.champion} champion vs ${step.candidate} candidate requests, ${share(report.srm.observedShare)} on the candidate instead of ${share(report.srm.expectedShare)} (always-valid p = ${formatP(report.srm.pValue)} ≤ ${report.srm.threshold.toPrecision(2)}); ${srmCause(report.rollout)}`;
		if (policy.onSrm === "abort") {
			return {
				kind: "abort",
				code: "srm",
				reason: `aborted: ${reason}`,
				next: transition(state, { status: "aborted", weight: 0 }, `aborted: ${reason}`, now),
			};
		}
		return hold("srm", `holding: ${reason}`);
	}
	const underpowered = report.power.underpowered;
	const note = underpowered ? ` — ${report.power.detail}` : "";
	const suffix = underpowered ? "_underpowered" : "";
	const missingCandidate = policy.minRequests - step.candidate;
	const missingChampion = policy.minRequests - step.champion;
	if (missingCandidate > 0 || missingChampion > 0) {
		const parts = [
			missingCandidate > 0
				? `${missingCandidate} more candidate requests (${step.candidate} of ${policy.minRequests})`
				: "",
			missingChampion > 0
				? `${missingChampion} more champion requests (${step.champion} of ${policy.minRequests})`
				: "",
		].filter(Boolean);
		return hold(
			`waiting_for_data${suffix}`,
			`waiting for ${parts.join(" and ")} at ${state.weight} %${note}`,
		);
	}
	if (step.elapsedSeconds < policy.bakeSeconds) {
		return hold(
			`baking${suffix}`,
			`baking at ${state.weight} %: ${Math.floor(step.elapsedSeconds)} of ${policy.bakeSeconds} s, guardrails passing${note}`,
		);
	}
	const summary = report.guardrails.map((g) => `${g.name} p = ${formatP(g.pValue)}`).join(", ");
	const target = promotesAfter(policy, state.weight)
		? 100
		: (nextStepAbove(policy.steps, state.weight)?.weight ?? 100);
	const held = gate(spec, state, target, `${state.weight} % passed (${summary})`, now);
	if (held) return held;
	if (promotesAfter(policy, state.weight)) {
		const reason = `promoted: ${state.weight} % passed (${summary}); the candidate now serves everyone${note}`;
		return {
			kind: "promote",
			code: "promoted",
			reason,
			next: transition(state, { status: "promoted", weight: 100 }, reason, now),
		};
	}
	const next = nextStepAbove(policy.steps, state.weight) as { index: number; weight: number };
	const reason = `stepped up ${state.weight} % → ${next.weight} %: guardrails passed after ${Math.floor(step.elapsedSeconds)} s with ${step.candidate} candidate requests (${summary})${note}`;
	return {
		kind: "step_up",
		code: "step_up",
		reason,
		next: transition(state, { weight: next.weight, step: next.index }, reason, now),
	};
}

function decideAb(
	spec: DeploymentSpec,
	state: RolloutState,
	report: AbReport,
	now: number,
): Decision {
	const policy = spec.ab;
	if (report.srm.mismatch)
		return hold(
			"srm",
			`holding: sample ratio mismatch (χ² p = ${formatP(report.srm.pValue)}); results cannot be trusted: ${srmCause(report)}`,
		);
	// A client's faults fill no sample.
	const champion = report.champion.requests - report.champion.clientFaults;
	const candidate = report.candidate.requests - report.candidate.clientFaults;
	const enough = champion >= policy.minSamples && candidate >= policy.minSamples;
	if (report.verdict !== "no_difference_yet" && enough && policy.autoConclude) {
		const winner = report.verdict === "candidate_better" ? "candidate" : "champion";
		const reason = `concluded: ${report.summary}; ${winner} serves everyone`;
		return {
			kind: "conclude",
			code: "concluded",
			reason,
			next: transition(
				state,
				{ status: "concluded", weight: winner === "candidate" ? 100 : 0, winner },
				reason,
				now,
			),
		};
	}
	if (!enough) {
		const missing = Math.max(policy.minSamples - champion, policy.minSamples - candidate);
		return hold(
			"waiting_for_data",
			`collecting: ${missing} more requests per variant before a verdict can conclude (${report.summary})`,
		);
	}
	return hold(report.verdict, report.summary);
}

function decideShadow(
	spec: DeploymentSpec,
	state: RolloutState,
	report: ShadowReport,
	now: number,
): Decision {
	if (!report.promotion.ready) return hold("shadowing", `shadowing: ${report.promotion.reason}`);
	const first = spec.canary.steps[0] as number;
	const held = gate(spec, state, first, `shadow passed (${report.promotion.reason})`, now);
	if (held) return held;
	const reason = `shadow passed (${report.promotion.reason}); starting the canary at ${first} %`;
	const started = new Date(now).toISOString();
	return {
		kind: "start_canary",
		code: "start_canary",
		reason,
		next: transition(
			state,
			{ status: "running", weight: first, step: 0, startedAt: started },
			reason,
			now,
		),
	};
}

/**
 * What a sample ratio mismatch most likely means. Client errors (4xx) are
 * left out of the counts, so a candidate that refuses requests (a wrong
 * path, credential or rate limit) loses its share: say so when its 4xx share
 * stands out; otherwise assignment or logging is broken.
 */
export function srmCause(report: {
	champion: { requests: number; clientFaults: number };
	candidate: { requests: number; clientFaults: number };
}): string {
	const share = (a: { requests: number; clientFaults: number }) =>
		a.requests > 0 ? a.clientFaults / a.requests : 0;
	const candidate = share(report.candidate);
	const champion = share(report.champion);
	if (candidate >= 0.05 && candidate > 2 * champion) {
		const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
		return `the candidate answered ${pct(candidate)} of its requests with a client error (4xx), the champion ${pct(champion)}: is it refusing requests (a wrong path, credential or rate limit)?`;
	}
	return "assignment or logging is broken";
}
