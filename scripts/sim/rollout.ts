/**
 * Whole canary rollouts on synthetic traffic, decided by one of three rules
 * on the same traffic (same seed):
 *  - switchyard: the real analysis and controller (src/rollout), always-valid tests;
 *  - naive: the same steps, but a fixed-horizon one-sided test at α every minute;
 *  - flagger: the same steps, but abort when the candidate's success rate over
 *    the last minute is below 99 % (after `failedChecks` such minutes).
 */
import { DeploymentSpec } from "../../src/config/spec";
import type { RolloutState } from "../../src/config/state";
import {
	type AggregateRow,
	emptyAggregate,
	emptyFeedback,
	errorsOf,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import { histogramBins } from "../../src/metrics/histogram";
import { type AnalysisMemory, analyze, EMPTY_MEMORY } from "../../src/rollout/analysis";
import { decide } from "../../src/rollout/controller";
import { nextStepAbove, promotesAfter } from "../../src/rollout/steps";
import { normalSf, quantileShiftTest } from "../../src/stats";
import type { Random } from "../lib/random";
import type { Scenario, SimulationConfig } from "./scenarios";
import { accumulate, bucketProbabilities, minuteOf } from "./traffic";

export type RuleName = "switchyard" | "naive" | "flagger";

export interface RolloutOutcome {
	outcome: "aborted" | "promoted" | "running";
	/** Minutes until the decision (or the cap). */
	minutes: number;
	/** Share of all requests served by the candidate until the end. */
	exposure: number;
	/** The weight at which the rollout ended. */
	weight: number;
}

interface Look {
	minute: number;
	now: number;
	state: RolloutState;
	rollout: { champion: VariantAggregate; candidate: VariantAggregate };
	step: { champion: VariantAggregate; candidate: VariantAggregate };
	lastMinute: { champion: VariantAggregate; candidate: VariantAggregate };
}

type Verdict = { kind: "hold" | "abort" | "promote" } | { kind: "step"; next: RolloutState };

interface Rule {
	look(look: Look): Verdict;
}

function specFor(config: SimulationConfig): DeploymentSpec {
	return DeploymentSpec.parse({
		name: "simulated",
		strategy: "canary",
		champion: { version: "a", url: "https://a.example" },
		candidate: { version: "b", url: "https://b.example" },
		canary: {
			steps: config.steps,
			minRequests: config.minRequests,
			bakeSeconds: config.bakeSeconds,
			alpha: config.alpha,
			maxLatencyIncreaseMs: config.maxLatencyIncreaseMs,
			maxErrorRateIncrease: config.maxErrorRateIncrease,
		},
	});
}

function rows(
	threshold: number,
	pair: { champion: VariantAggregate; candidate: VariantAggregate },
): AggregateRow[] {
	return [
		{ variant: "champion", threshold, aggregate: pair.champion },
		{ variant: "candidate", threshold, aggregate: pair.candidate },
	];
}

function switchyardRule(spec: DeploymentSpec): Rule {
	let memory: AnalysisMemory = EMPTY_MEMORY;
	return {
		look({ state, rollout, step, now }) {
			const threshold = Math.round(state.weight * 100);
			const analysis = analyze(
				spec,
				state,
				{
					rollout: rows(threshold, rollout),
					step: rows(threshold, step),
					feedback: emptyFeedback(),
				},
				memory,
				now,
			);
			memory = analysis.memory;
			const decision = decide(spec, state, analysis.report, now);
			if (decision.kind === "abort") return { kind: "abort" };
			if (decision.kind === "promote") return { kind: "promote" };
			if (decision.kind === "step_up" && decision.next)
				return { kind: "step", next: decision.next };
			return { kind: "hold" };
		},
	};
}

/** Shared step schedule for the comparison rules: minRequests and bake time, then step or promote. */
function scheduleStep(spec: DeploymentSpec, look: Look): Verdict {
	const { state, step, now } = look;
	const policy = spec.canary;
	const elapsed = (now - Date.parse(state.since ?? new Date(now).toISOString())) / 1000;
	if (
		step.candidate.requests < policy.minRequests ||
		step.champion.requests < policy.minRequests ||
		elapsed < policy.bakeSeconds
	) {
		return { kind: "hold" };
	}
	if (promotesAfter(policy, state.weight)) return { kind: "promote" };
	const next = nextStepAbove(policy.steps, state.weight) as { index: number; weight: number };
	return {
		kind: "step",
		next: { ...state, weight: next.weight, step: next.index, since: new Date(now).toISOString() },
	};
}

function naiveRule(spec: DeploymentSpec): Rule {
	const alpha = spec.canary.alpha;
	return {
		look(look) {
			const { rollout, step } = look;
			if (
				step.candidate.requests >= spec.canary.minRequests &&
				step.champion.requests >= spec.canary.minRequests
			) {
				const a = { x: errorsOf(rollout.champion), n: rollout.champion.requests };
				const b = { x: errorsOf(rollout.candidate), n: rollout.candidate.requests };
				const pooled = (a.x + b.x) / (a.n + b.n);
				const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
				const errorP = se > 0 ? normalSf((b.x / b.n - a.x / a.n) / se) : 1;
				const latencyP = quantileShiftTest(
					histogramBins(rollout.champion.histogram),
					histogramBins(rollout.candidate.histogram),
					{
						margin: spec.canary.maxLatencyIncreaseMs,
					},
				).pValue;
				if (errorP < alpha || latencyP < alpha) return { kind: "abort" };
			}
			return scheduleStep(spec, look);
		},
	};
}

function flaggerRule(spec: DeploymentSpec, failedChecksToAbort: number): Rule {
	let failed = 0;
	return {
		look(look) {
			const last = look.lastMinute.candidate;
			if (last.requests > 0 && 1 - errorsOf(last) / last.requests < 0.99) failed++;
			if (failed >= failedChecksToAbort) return { kind: "abort" };
			return scheduleStep(spec, look);
		},
	};
}

export function createRule(name: RuleName, spec: DeploymentSpec, flaggerChecks = 1): Rule {
	if (name === "naive") return naiveRule(spec);
	if (name === "flagger") return flaggerRule(spec, flaggerChecks);
	return switchyardRule(spec);
}

export function prepare(config: SimulationConfig, scenario: Scenario) {
	return {
		spec: specFor(config),
		champion: bucketProbabilities(scenario.latency),
		candidate: bucketProbabilities({
			...scenario.latency,
			median: scenario.latency.median * scenario.latencyMultiplier,
		}),
	};
}

export function runRollout(
	config: SimulationConfig,
	scenario: Scenario,
	prepared: ReturnType<typeof prepare>,
	rule: Rule,
	random: Random,
): RolloutOutcome {
	const t0 = Date.UTC(2026, 10, 28);
	let state: RolloutState = {
		status: "running",
		weight: config.steps[0] as number,
		step: 0,
		since: new Date(t0).toISOString(),
		startedAt: new Date(t0).toISOString(),
		reason: "",
		updatedBy: "controller",
		revision: 0,
	};
	const rollout = { champion: emptyAggregate(), candidate: emptyAggregate() };
	let step = { champion: emptyAggregate(), candidate: emptyAggregate() };
	let total = 0;
	let onCandidate = 0;
	for (let minute = 1; minute <= config.maxMinutes; minute++) {
		const nCandidate = random.binomial(config.requestsPerMinute, state.weight / 100);
		const lastMinute = {
			champion: minuteOf(
				random,
				config.requestsPerMinute - nCandidate,
				scenario.errorRate,
				prepared.champion,
			),
			candidate: minuteOf(
				random,
				nCandidate,
				scenario.errorRate * scenario.errorMultiplier,
				prepared.candidate,
			),
		};
		for (const variant of ["champion", "candidate"] as const) {
			accumulate(rollout[variant], lastMinute[variant]);
			accumulate(step[variant], lastMinute[variant]);
		}
		total += config.requestsPerMinute;
		onCandidate += nCandidate;
		const verdict = rule.look({
			minute,
			now: t0 + minute * 60_000,
			state,
			rollout,
			step,
			lastMinute,
		});
		if (verdict.kind === "abort" || verdict.kind === "promote") {
			return {
				outcome: verdict.kind === "abort" ? "aborted" : "promoted",
				minutes: minute,
				exposure: onCandidate / total,
				weight: state.weight,
			};
		}
		if (verdict.kind === "step") {
			state = verdict.next;
			step = { champion: emptyAggregate(), candidate: emptyAggregate() };
		}
	}
	return {
		outcome: "running",
		minutes: config.maxMinutes,
		exposure: onCandidate / total,
		weight: state.weight,
	};
}
