/**
 * Whole canary rollouts on synthetic traffic (a scenario), decided by one of
 * three rules on the same traffic (same seed):
 *  - switchyard: the real analysis and controller (src/rollout) on the
 *    per-minute rows, exactly as the Durable Object hands them over;
 *  - naive: the same steps, but a fixed-horizon one-sided test at α every
 *    minute on the pooled rollout window;
 *  - flagger: the same steps, but abort when the candidate's success rate over
 *    the last minute is below 99 % (after `failedChecks` such minutes).
 */
import { DeploymentSpec } from "../../src/config/spec";
import type { RolloutState } from "../../src/config/state";
import {
	emptyAggregate,
	errorsOf,
	type MinuteRow,
	type VariantAggregate,
} from "../../src/metrics/aggregate";
import { histogramBins, histogramQuantile } from "../../src/metrics/histogram";
import { type AnalysisMemory, analyze, EMPTY_MEMORY } from "../../src/rollout/analysis";
import { decide } from "../../src/rollout/controller";
import { nextStepAbove, promotesAfter } from "../../src/rollout/steps";
import { normalSf, quantileShiftTest } from "../../src/stats";
import type { Random } from "../lib/random";
import {
	type ArmOverride,
	type Latency,
	type ScenarioFile,
	type Series,
	valueAt,
} from "./scenario-file";
import { accumulate, type Bucket, bucketProbabilities, drawErrors, drawLatencies } from "./traffic";

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

type Pair = { champion: VariantAggregate; candidate: VariantAggregate };

interface Look {
	minute: number;
	now: number;
	state: RolloutState;
	/** Every minute row of the rollout so far (what the Durable Object stores). */
	rows: MinuteRow[];
	rollout: Pair;
	step: Pair;
	lastMinute: Pair;
}

type Verdict = { kind: "hold" | "abort" | "promote" } | { kind: "step"; next: RolloutState };

interface Rule {
	look(look: Look): Verdict;
}

function switchyardRule(spec: DeploymentSpec): Rule {
	let memory: AnalysisMemory = EMPTY_MEMORY;
	return {
		look({ state, rows, now }) {
			const analysis = analyze(spec, state, { minutes: rows, feedback: [] }, memory, now);
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
				const q = spec.canary.latencyQuantiles[0] ?? 0.95;
				const championQ = histogramQuantile(rollout.champion.histogram, q);
				const latencyP = quantileShiftTest(
					histogramBins(rollout.champion.histogram),
					histogramBins(rollout.candidate.histogram),
					{ q, margin: (championQ * spec.canary.maxLatencyIncreasePct) / 100 },
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

interface ResolvedArm {
	errorRate: Series;
	latency: Latency;
	latencyScale?: Series;
}

interface Segment {
	share: number;
	champion: ResolvedArm;
	candidate: ResolvedArm;
}

export interface PreparedScenario {
	scenario: ScenarioFile;
	spec: DeploymentSpec;
	segments: Segment[];
	buckets: (latency: Latency, scale: number) => Bucket[];
}

function override(base: ResolvedArm, patch: ArmOverride | undefined): ResolvedArm {
	if (!patch) return base;
	return {
		errorRate: patch.errorRate ?? base.errorRate,
		latency: patch.latency ?? base.latency,
		latencyScale: patch.latencyScale ?? base.latencyScale,
	};
}

/** Resolves defaults (the candidate's fields are the champion's unless given) and caches latency buckets. */
export function prepareScenario(scenario: ScenarioFile): PreparedScenario {
	const spec = DeploymentSpec.parse({
		name: "simulated",
		strategy: "canary",
		champion: { version: "a", url: "https://a.example" },
		candidate: { version: "b", url: "https://b.example" },
		timeoutMs: scenario.timeoutMs,
		canary: scenario.policy,
	});
	const champion: ResolvedArm = scenario.champion;
	const candidate = override(champion, scenario.candidate);
	const rest = 1 - scenario.segments.reduce((s, x) => s + x.share, 0);
	const segments: Segment[] = [
		{ share: rest, champion, candidate },
		...scenario.segments.map((s) => ({
			share: s.share,
			champion: override(champion, s.champion),
			candidate: override(candidate, s.candidate),
		})),
	];
	const cache = new Map<Latency, Map<number, Bucket[]>>();
	const buckets = (latency: Latency, scale: number) => {
		let byScale = cache.get(latency);
		if (!byScale) {
			byScale = new Map();
			cache.set(latency, byScale);
		}
		// Scales within 0.05 % share their buckets.
		const key = Math.round(Math.log(scale) * 2000);
		let found = byScale.get(key);
		if (!found) {
			found = bucketProbabilities(latency, Math.exp(key / 2000), scenario.timeoutMs);
			byScale.set(key, found);
		}
		return found;
	};
	return { scenario, spec, segments, buckets };
}

/** One minute of one arm: its requests split over the segments, each with its own behaviour. */
function armMinute(
	prepared: PreparedScenario,
	random: Random,
	requests: number,
	arm: "champion" | "candidate",
	t: number,
): VariantAggregate {
	const { scenario, segments } = prepared;
	const a = emptyAggregate();
	a.requests = requests;
	const cv = scenario.noise.errorRateCv;
	const burst = cv > 0 ? random.gamma(1 / (cv * cv)) * cv * cv : 1;
	const sharedScale = valueAt(scenario.latencyScale, t);
	let left = requests;
	let shareLeft = 1;
	segments.forEach((segment, i) => {
		const k =
			i === segments.length - 1
				? left
				: random.binomial(left, Math.min(1, segment.share / Math.max(shareLeft, 1e-12)));
		shareLeft -= segment.share;
		left -= k;
		if (k === 0) return;
		const behaviour = segment[arm];
		const scale = sharedScale * (behaviour.latencyScale ? valueAt(behaviour.latencyScale, t) : 1);
		const timeoutsBefore = a.timeouts;
		drawLatencies(random, a, k, prepared.buckets(behaviour.latency, scale));
		const answered = k - (a.timeouts - timeoutsBefore);
		const rate = Math.min(1, valueAt(behaviour.errorRate, t) * burst);
		a.errors5xx += drawErrors(random, answered, rate, scenario.noise.errorClusterSize);
	});
	return a;
}

/** Requests this minute: the rate, rounded at random so fractional rates keep their mean. */
function requestsAt(prepared: PreparedScenario, random: Random, t: number): number {
	const rate = valueAt(prepared.scenario.requestsPerMinute, t);
	const whole = Math.floor(rate);
	return whole + (random.uniform() < rate - whole ? 1 : 0);
}

export const ROLLOUT_START = Date.UTC(2026, 10, 28);

export function runRollout(prepared: PreparedScenario, rule: Rule, random: Random): RolloutOutcome {
	const { scenario, spec } = prepared;
	const t0 = ROLLOUT_START;
	const minute0 = Math.floor(t0 / 60_000);
	let state: RolloutState = {
		status: "running",
		weight: spec.canary.steps[0] as number,
		step: 0,
		since: new Date(t0).toISOString(),
		startedAt: new Date(t0).toISOString(),
		reason: "",
		updatedBy: "controller",
		revision: 0,
	};
	const rows: MinuteRow[] = [];
	const rollout: Pair = { champion: emptyAggregate(), candidate: emptyAggregate() };
	let step: Pair = { champion: emptyAggregate(), candidate: emptyAggregate() };
	let total = 0;
	let onCandidate = 0;
	for (let t = 0; t < scenario.minutes; t++) {
		const requests = requestsAt(prepared, random, t);
		const nCandidate = random.binomial(requests, state.weight / 100);
		const lastMinute: Pair = {
			champion: armMinute(prepared, random, requests - nCandidate, "champion", t),
			candidate: armMinute(prepared, random, nCandidate, "candidate", t),
		};
		const threshold = Math.round(state.weight * 100);
		rows.push(
			{ minute: minute0 + t, variant: "champion", threshold, aggregate: lastMinute.champion },
			{ minute: minute0 + t, variant: "candidate", threshold, aggregate: lastMinute.candidate },
		);
		for (const variant of ["champion", "candidate"] as const) {
			accumulate(rollout[variant], lastMinute[variant]);
			accumulate(step[variant], lastMinute[variant]);
		}
		total += requests;
		onCandidate += nCandidate;
		const verdict = rule.look({
			minute: t + 1,
			now: t0 + (t + 1) * 60_000,
			state,
			rows,
			rollout,
			step,
			lastMinute,
		});
		const exposure = total > 0 ? onCandidate / total : 0;
		if (verdict.kind === "abort" || verdict.kind === "promote") {
			return {
				outcome: verdict.kind === "abort" ? "aborted" : "promoted",
				minutes: t + 1,
				exposure,
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
		minutes: scenario.minutes,
		exposure: total > 0 ? onCandidate / total : 0,
		weight: state.weight,
	};
}
