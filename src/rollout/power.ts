/**
 * How long a canary needs, at the traffic it gets, to catch a clearly harmful
 * candidate: the expected minutes from the rollout's start until each
 * guardrail's always-valid test would abort one, following the steps
 * (minRequests and bake time each) at the observed request rate. A canary
 * that needs more than a day is "underpowered": it will promote, or sit for
 * days, before it could tell a bad candidate from a good one. Pure.
 *
 * Reference harms: twice the error rate H0 allows (the champion's plus the
 * margin), and a latency quantile slower by twice its tolerance. The time is
 * where the expected test statistic crosses the test's boundary (about the
 * median time to abort), from the normal approximation of each test: for
 * errors, the conditional-binomial score with information Σ E θ0(1 − θ0) and
 * the mixture of counts.ts; for latency, the log-quantile ratio with the
 * order-statistic variance measured on the champion and the mixture SPRT.
 */
import type { CanaryPolicy } from "../config/spec";
import { COUNT_PRIOR_SCALE, mixtureRhoSquared, normalCdf } from "../stats";

/** Beyond this many minutes (30 days) a detection time is reported as this cap. */
export const MAX_POWER_MINUTES = 30 * 24 * 60;
/** A canary that needs more than this many minutes to detect harm is underpowered. */
export const UNDERPOWERED_MINUTES = 24 * 60;

export interface DetectionTime {
	name: string;
	/** The harm it is computed for, in words. */
	reference: string;
	/** Expected minutes from the rollout's start to an abort; null when it cannot be computed yet. */
	minutes: number | null;
	/** False when the candidate would be promoted before that. */
	beforePromotion: boolean;
}

export interface PowerReport {
	/** Requests per minute observed over the rollout so far (both arms); null before any. */
	requestsPerMinute: number | null;
	/** Minutes to promote a healthy candidate at that rate (minRequests and bake time of every step). */
	minutesToPromote: number | null;
	detection: DetectionTime[];
	/** The longest known detection time (capped at 30 days); null when none is known yet. */
	minutesToDecision: number | null;
	/** True when a harmful candidate would take more than a day to catch. */
	underpowered: boolean;
	detail: string;
}

export interface PowerInput {
	policy: CanaryPolicy;
	/** Requests per minute, both arms. */
	requestsPerMinute: number;
	/** The champion's error rate. */
	errorRate: number;
	/** Per guarded quantile: the champion's quantile (ms) and n·Var(log q̂) (the order-statistic variance of one value). */
	latency: { name: string; quantileMs: number; unitVariance: number }[];
	/** The alpha of each guardrail. */
	alpha: number;
}

interface Phase {
	start: number;
	duration: number;
	weight: number;
}

/** The comparison steps (below 100 %) with their durations at `rate` requests a minute. */
function schedule(policy: CanaryPolicy, rate: number): Phase[] {
	const phases: Phase[] = [];
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

/**
 * The first minute at which `logE(minutes)` reaches log(1/α), scanning
 * geometrically spaced times and refining by bisection; the rollout stays at
 * its last comparison step after the schedule ends.
 */
function firstCrossing(logE: (minutes: number) => number, alpha: number): number {
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
function accumulate(phases: Phase[], t: number, f: (weight: number, minutes: number) => number) {
	let total = 0;
	phases.forEach((phase, i) => {
		const last = i === phases.length - 1;
		const spent = Math.min(t - phase.start, last ? Number.POSITIVE_INFINITY : phase.duration);
		if (spent > 0) total += f(phase.weight, spent);
	});
	return total;
}

/** log of the one-sided normal mixture e-value at z with r = τ²·information. */
function oneSidedLogE(z: number, r: number): number {
	if (!(r > 0)) return 0;
	const shrink = r / (1 + r);
	const phi = normalCdf(z * Math.sqrt(shrink));
	return Math.LN2 - 0.5 * Math.log1p(r) + (shrink * z * z) / 2 + Math.log(Math.max(phi, 1e-300));
}

export function powerOf(input: PowerInput): PowerReport {
	const { policy, requestsPerMinute: rate } = input;
	const phases = rate > 0 ? schedule(policy, rate) : [];
	const promote =
		phases.length > 0
			? Math.round(
					(phases[phases.length - 1] as Phase).start +
						(phases[phases.length - 1] as Phase).duration,
				)
			: null;
	const detection: DetectionTime[] = [];
	const margin = policy.maxErrorRateIncrease;
	if (phases.length > 0 && input.errorRate + margin > 0) {
		const pa = input.errorRate;
		const allowed = pa + margin;
		const psi = 2;
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
		const minutes = firstCrossing(at, input.alpha);
		detection.push({
			name: "error_rate",
			reference: `error rate ${percent(2 * allowed)} instead of at most ${percent(allowed)}`,
			minutes,
			beforePromotion: promote === null || minutes <= promote,
		});
	} else {
		detection.push({
			name: "error_rate",
			reference: "no champion errors yet",
			minutes: null,
			beforePromotion: true,
		});
	}
	const rho2 = mixtureRhoSquared(input.alpha, policy.nStar);
	for (const latency of input.latency) {
		if (phases.length === 0 || !(latency.unitVariance > 0) || !(latency.quantileMs > 0)) {
			detection.push({
				name: latency.name,
				reference: "not enough latency data yet",
				minutes: null,
				beforePromotion: true,
			});
			continue;
		}
		const tolerance = Math.max(
			(latency.quantileMs * policy.maxLatencyIncreasePct) / 100,
			policy.maxLatencyIncreaseMs ?? 0,
			1,
		);
		const gap =
			Math.log1p((2 * tolerance) / latency.quantileMs) - Math.log1p(tolerance / latency.quantileMs);
		const at = (t: number) => {
			const na = accumulate(phases, t, (w, minutes) => rate * (1 - w) * minutes);
			const nb = accumulate(phases, t, (w, minutes) => rate * w * minutes);
			if (!(na > 0 && nb > 0)) return 0;
			const variance = latency.unitVariance * (1 / na + 1 / nb);
			const n = 4 / (1 / na + 1 / nb);
			return oneSidedLogE(gap / Math.sqrt(variance), rho2 * n);
		};
		const minutes = firstCrossing(at, input.alpha);
		detection.push({
			name: latency.name,
			reference: `${latency.name.replace("latency_", "")} ${(latency.quantileMs + 2 * tolerance).toFixed(0)} ms instead of at most ${(latency.quantileMs + tolerance).toFixed(0)} ms`,
			minutes,
			beforePromotion: promote === null || minutes <= promote,
		});
	}
	const known = detection.flatMap((d) => (d.minutes === null ? [] : [d.minutes]));
	const minutesToDecision = known.length > 0 ? Math.max(...known) : null;
	const underpowered = minutesToDecision !== null && minutesToDecision > UNDERPOWERED_MINUTES;
	const slowest = detection.find((d) => d.minutes === minutesToDecision);
	const detail =
		rate > 0
			? `at ${rate.toFixed(rate < 10 ? 1 : 0)} requests/min: promotion after about ${promote} min; ${detection
					.map((d) =>
						d.minutes === null
							? `${d.name}: ${d.reference}`
							: `${d.name} would catch ${d.reference} after about ${duration(d.minutes)}${d.beforePromotion ? "" : " (after promotion)"}`,
					)
					.join("; ")}`
			: "no traffic yet";
	return {
		requestsPerMinute: rate > 0 ? rate : null,
		minutesToPromote: promote,
		detection,
		minutesToDecision,
		underpowered,
		detail: underpowered && slowest ? `underpowered: ${detail}` : detail,
	};
}

function percent(x: number): string {
	return `${(x * 100).toFixed(2)} %`;
}

function duration(minutes: number): string {
	if (minutes >= MAX_POWER_MINUTES) return "more than 30 days";
	if (minutes >= 2 * 24 * 60) return `${(minutes / 1440).toFixed(1)} days`;
	if (minutes >= 120) return `${(minutes / 60).toFixed(1)} h`;
	return `${minutes} min`;
}
