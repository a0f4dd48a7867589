/**
 * How long a canary's always-valid tests take to catch a harm, at the
 * traffic it gets: the canary's step schedule (minRequests and bake time
 * each) at the observed request rate, and the first minute at which the
 * expected test statistic crosses the test's boundary (about the median time
 * to abort), from the normal approximation of each test. Guardrails use it
 * for their detection times (power.ts gathers them). Pure.
 */
import type { CanaryPolicy } from "../config/spec";
import { COUNT_PRIOR_SCALE, mixtureRhoSquared, normalCdf } from "../stats";

/** Beyond this many minutes (30 days) a detection time is reported as this cap. */
export const MAX_POWER_MINUTES = 30 * 24 * 60;

/** One comparison step of the schedule: when it starts, how long it lasts, the candidate's share. */
export interface Phase {
	start: number;
	duration: number;
	weight: number;
}

/** The comparison steps (below 100 %) with their durations at `rate` requests a minute. */
export function schedule(policy: CanaryPolicy, rate: number): Phase[] {
	const phases: Phase[] = [];
	if (!(rate > 0)) return phases;
	let start = 0;
	for (const step of policy.steps) {
		if (step >= 100) break;
		const w = step / 100;
		const smaller = Math.min(w, 1 - w);
		// Looks come once a minute: a step lasts whole minutes.
		const duration = Math.ceil(
			Math.max(policy.bakeSeconds / 60, policy.minRequests / (rate * smaller), 1),
		);
		phases.push({ start, duration, weight: w });
		start += duration;
	}
	return phases;
}

/** Minutes until a healthy candidate is promoted on this schedule; null without one. */
export function promotionMinutes(phases: readonly Phase[]): number | null {
	const last = phases[phases.length - 1];
	return last === undefined ? null : Math.round(last.start + last.duration);
}

/**
 * The first minute at which `logE(minutes)` reaches log(1/α), scanning
 * geometrically spaced times and refining by bisection; the rollout stays at
 * its last comparison step after the schedule ends.
 */
export function firstCrossing(logE: (minutes: number) => number, alpha: number): number {
	const target = Math.log(1 / alpha);
	let previous = 0;
	for (let t = 1; t <= MAX_POWER_MINUTES; t = Math.ceil(t * 1.15)) {
		if (logE(t) >= target) {
			let lo = previous;
			let hi = t;
			while (hi - lo > 1) {
				const mid = Math.floor((lo + hi) / 2);
				if (logE(mid) >= target) hi = mid;
				else lo = mid;
			}
			return hi;
		}
		previous = t;
	}
	return MAX_POWER_MINUTES;
}

/** Σ over phases of f(weight, minutes spent in the phase) up to time t. */
export function accumulate(
	phases: readonly Phase[],
	t: number,
	f: (weight: number, minutes: number) => number,
): number {
	let total = 0;
	phases.forEach((phase, i) => {
		const last = i === phases.length - 1;
		const spent = Math.min(t - phase.start, last ? Number.POSITIVE_INFINITY : phase.duration);
		if (spent > 0) total += f(phase.weight, spent);
	});
	return total;
}

/** log of the one-sided normal mixture e-value at z with r = τ²·information. */
export function oneSidedLogE(z: number, r: number): number {
	if (!(r > 0)) return 0;
	const shrink = r / (1 + r);
	const phi = normalCdf(z * Math.sqrt(shrink));
	return Math.LN2 - 0.5 * Math.log1p(r) + (shrink * z * z) / 2 + Math.log(Math.max(phi, 1e-300));
}

/**
 * Minutes for the error-rate test to catch a candidate failing `psi` times
 * as often as H0 allows (`allowed`), with the champion at `championRate`:
 * the conditional-binomial score with information Σ E θ0(1 − θ0) and the
 * mixture of stats/counts.ts.
 */
export function countDetectionMinutes(input: {
	phases: readonly Phase[];
	rate: number;
	championRate: number;
	allowed: number;
	psi: number;
	alpha: number;
}): number {
	const { phases, rate, championRate: pa, allowed, psi } = input;
	const at = (t: number) => {
		let information = 0;
		let drift = 0;
		accumulate(phases, t, (w, minutes) => {
			const champion = rate * (1 - w) * pa;
			const candidate = rate * w * allowed;
			const theta0 = candidate / (champion + candidate);
			const theta1 = (theta0 * psi) / (theta0 * psi + 1 - theta0);
			const events = minutes * (champion + candidate * psi);
			information += events * theta0 * (1 - theta0);
			drift += events * (theta1 - theta0);
			return 0;
		});
		if (!(information > 0)) return 0;
		return oneSidedLogE(drift / Math.sqrt(information), COUNT_PRIOR_SCALE ** 2 * information);
	};
	return firstCrossing(at, input.alpha);
}

/**
 * Minutes for a log-quantile test to catch a shift of `gap` on the log
 * scale beyond its null, with `unitVariance` = n·Var(log q̂) of one value
 * (the order-statistic variance measured on the champion) and the mixture
 * SPRT at N*.
 */
export function quantileDetectionMinutes(input: {
	phases: readonly Phase[];
	rate: number;
	gap: number;
	unitVariance: number;
	alpha: number;
	nStar: number;
}): number {
	const { phases, rate, gap, unitVariance } = input;
	const rho2 = mixtureRhoSquared(input.alpha, input.nStar);
	const at = (t: number) => {
		const na = accumulate(phases, t, (w, minutes) => rate * (1 - w) * minutes);
		const nb = accumulate(phases, t, (w, minutes) => rate * w * minutes);
		if (!(na > 0 && nb > 0)) return 0;
		const variance = unitVariance * (1 / na + 1 / nb);
		const n = 4 / (1 / na + 1 / nb);
		return oneSidedLogE(gap / Math.sqrt(variance), rho2 * n);
	};
	return firstCrossing(at, input.alpha);
}
