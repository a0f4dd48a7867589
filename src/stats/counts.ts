/**
 * Anytime-valid comparison of event counts (errors, fallbacks, requests for
 * the sample-ratio test) between two arms, within time.
 *
 * Each arm's events form a Poisson process whose intensity may change at any
 * moment (traffic, incidents, time of day), as long as it changes for both
 * arms alike (Lindon & Malek 2022, "Anytime-valid inference for multinomial
 * count data", time-inhomogeneous Poisson counting processes). Given
 * that an event happened in stratum s (a minute at one routing weight), it is
 * the candidate's with probability θ0_s under H0 — its share of the exposure
 * in that minute, with the margin folded in — whatever the intensity was. The
 * time-varying rate cancels: an incident that hits both arms in the same
 * minutes does not move the test.
 *
 * The alternative multiplies the odds of every event being the candidate's
 * by ψ (for errors: the candidate's rate is ψ times what H0 allows, in every
 * minute). With η = log ψ, stratum s contributes the binomial log-likelihood
 * ratio
 *
 *   ℓ_s(η) = X_s·η − E_s·log(1 − θ0_s + θ0_s·e^η)
 *
 * (X_s candidate events of E_s), and the e-process is the mixture
 *
 *   Λ = ∫ exp(Σ_s ℓ_s(η) / φ_s) g(η) dη
 *
 * with g normal (two-sided) or half-normal on η > 0 (one-sided) of scale
 * `priorScale`. With φ_s = 1 this is a nonnegative martingale over events
 * under H0 (exact, whatever the counts), so P(sup Λ ≥ 1/α) ≤ α by Ville's
 * inequality. φ_s = a + κ·h_s ≥ 1 is the overdispersion of stratum s
 * (dispersion.ts), estimated from the per-minute Pearson residuals around the
 * fitted ψ: the quasi-likelihood ℓ/φ keeps the test calibrated when events
 * come in bursts (asymptotically; for φ = 1 nothing changes, and raising a
 * martingale to the power 1/φ ≤ 1 keeps it a supermartingale).
 *
 * The integral is computed around the posterior mode (the integrand is
 * log-concave), with Simpson's rule over ±12 posterior standard deviations,
 * widened until the ends are negligible; what is left out only makes Λ
 * smaller (conservative).
 */
import {
	type Dispersion,
	type DispersionAnchor,
	dispersionFactor,
	estimateDispersion,
	NO_DISPERSION,
	type PearsonPoint,
} from "./dispersion";
import { boundary } from "./sequential";
import { normalSf, normalTwoSided } from "./special";
import type { Interval } from "./types";

export interface CountStratum {
	/** Events in both arms. */
	events: number;
	/** Events in the candidate arm. */
	candidate: number;
	/** P(an event is the candidate's) under H0: its exposure share, margin included; 0 < θ0 < 1. */
	nullShare: number;
}

export interface CountTestOptions {
	/** "greater": H1 is more candidate events than H0 allows; "two-sided": different. */
	alternative: "greater" | "two-sided";
	alpha: number;
	/** Standard deviation of the mixing distribution of η = log ψ. Default {@link COUNT_PRIOR_SCALE}. */
	priorScale?: number;
	/** Overdispersion to use; estimated from the strata when absent. */
	dispersion?: Dispersion;
	/** A known point of the dispersion line, e.g. from the champion's own series (seriesDispersion). */
	anchor?: DispersionAnchor | null;
	/** Index of dispersion assumed until the strata say otherwise (default 1: independent events). */
	dispersionPrior?: number;
	/** The always-valid p-value of the previous look (1 at the first). */
	previousPValue?: number;
}

export interface CountTestResult {
	/** Always-valid p-value: min(previous, 1/Λ). */
	pValue: number;
	/** ln Λ at this look. */
	logE: number;
	rejected: boolean;
	/** Maximum-likelihood η̂ = log ψ̂ (clamped to ±{@link MAX_LOG_RATIO}); 0 without events. */
	logRatio: number;
	/** Its standard error (quasi-likelihood, dispersion included); 0 without information. */
	se: number;
	/** Confidence sequence for η (normal approximation; one-sided: the lower bound only). */
	ci: Interval;
	/** Fixed-horizon score-test p-value at this look (one look only). */
	fixedHorizonPValue: number;
	/** Fisher information about η at H0, Σ E θ0(1 − θ0)/φ. */
	information: number;
	dispersion: Dispersion;
	/** Strata with events and a share strictly between 0 and 1. */
	strata: number;
	events: number;
	candidateEvents: number;
	insufficient?: string;
}

/** Default mixing scale of log ψ: one standard deviation is a rate ratio of e ≈ 2.7. */
export const COUNT_PRIOR_SCALE = 1;
/** |η| is clamped here; ψ = e^12 ≈ 160,000. */
export const MAX_LOG_RATIO = 12;

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

interface Prepared {
	x: number[];
	e: number[];
	share: number[];
	phi: number[];
}

/** Σ ℓ_s(η)/φ_s and its first two derivatives. |η| ≤ 12 keeps e^η finite. */
function logLikelihood(p: Prepared, eta: number): { value: number; d1: number; d2: number } {
	const growth = Math.expm1(eta);
	const ratio = Math.exp(eta);
	let value = 0;
	let d1 = 0;
	let d2 = 0;
	for (let i = 0; i < p.x.length; i++) {
		const x = p.x[i] as number;
		const e = p.e[i] as number;
		const phi = p.phi[i] as number;
		const share = p.share[i] as number;
		// 1 − θ0 + θ0 e^η, and θ_s(η) = θ0 e^η / (1 − θ0 + θ0 e^η)
		const scale = 1 + share * growth;
		const theta = (share * ratio) / scale;
		value += (x * eta - e * Math.log1p(share * growth)) / phi;
		d1 += (x - e * theta) / phi;
		d2 -= (e * theta * (1 - theta)) / phi;
	}
	return { value, d1, d2 };
}

/** The root of a decreasing function on [lo, hi] (safeguarded Newton). */
function decreasingRoot(
	f: (x: number) => { d1: number; d2: number },
	lo: number,
	hi: number,
): number {
	let x = 0 < lo || 0 > hi ? (lo + hi) / 2 : 0;
	for (let i = 0; i < 100; i++) {
		const { d1, d2 } = f(x);
		if (d1 > 0) lo = x;
		else hi = x;
		if (Math.abs(d1) < 1e-10 || hi - lo < 1e-12) break;
		const newton = d2 < 0 ? x - d1 / d2 : Number.NaN;
		x = newton > lo && newton < hi ? newton : (lo + hi) / 2;
	}
	return x;
}

/** The per-stratum dispersion points around the fitted common log ratio. */
function pearsonPoints(p: Prepared, eta: number): PearsonPoint[] {
	const points: PearsonPoint[] = [];
	for (let i = 0; i < p.x.length; i++) {
		const share = p.share[i] as number;
		const theta = (share * Math.exp(eta)) / (1 - share + share * Math.exp(eta));
		const e = p.e[i] as number;
		const h = e * theta * (1 - theta);
		if (!(h > 0)) continue;
		const residual = (p.x[i] as number) - e * theta;
		// r² of a small count has variance 2φ² + φ/h (Poisson fourth moment).
		points.push({ r2: (residual * residual) / h, h, tail: 1 / h });
	}
	return points;
}

/**
 * The conditional-binomial mixture e-process over strata (see the module
 * comment). Returns neutral numbers (p = previous, `insufficient`) when no
 * stratum holds an event.
 */
export function countMixtureTest(
	strata: readonly CountStratum[],
	options: CountTestOptions,
): CountTestResult {
	const previous = options.previousPValue ?? 1;
	const scale = options.priorScale ?? COUNT_PRIOR_SCALE;
	const twoSided = options.alternative === "two-sided";
	const p: Prepared = { x: [], e: [], share: [], phi: [] };
	let events = 0;
	let candidateEvents = 0;
	for (const s of strata) {
		if (!(s.events > 0) || !(s.nullShare > 0 && s.nullShare < 1)) continue;
		const x = Math.min(Math.max(0, s.candidate), s.events);
		p.x.push(x);
		p.e.push(s.events);
		p.share.push(s.nullShare);
		p.phi.push(1);
		events += s.events;
		candidateEvents += x;
	}
	const base = {
		strata: p.x.length,
		events,
		candidateEvents,
	};
	if (p.x.length === 0) {
		return {
			...base,
			pValue: previous,
			logE: 0,
			rejected: previous <= options.alpha,
			logRatio: 0,
			se: 0,
			ci: [null, null],
			fixedHorizonPValue: 1,
			information: 0,
			dispersion: options.dispersion ?? NO_DISPERSION,
			insufficient: "no events yet",
		};
	}
	const ll = (eta: number) => logLikelihood(p, eta);
	// Maximum likelihood without dispersion, for the residuals.
	const mle0 = decreasingRoot(ll, -MAX_LOG_RATIO, MAX_LOG_RATIO);
	const dispersion =
		options.dispersion ??
		estimateDispersion(pearsonPoints(p, mle0), {
			anchor: options.anchor ?? undefined,
			priorA: options.dispersionPrior,
		});
	if (dispersion.a !== 1 || dispersion.kappa !== 0) {
		for (let i = 0; i < p.x.length; i++) {
			const share = p.share[i] as number;
			const theta = (share * Math.exp(mle0)) / (1 - share + share * Math.exp(mle0));
			p.phi[i] = dispersionFactor(dispersion, (p.e[i] as number) * theta * (1 - theta));
		}
	}
	const mle = decreasingRoot(ll, -MAX_LOG_RATIO, MAX_LOG_RATIO);
	const atMle = ll(mle);
	const atNull = ll(0);
	const information = -atNull.d2;
	const se = atMle.d2 < 0 ? 1 / Math.sqrt(-atMle.d2) : 0;
	const score = information > 0 ? atNull.d1 / Math.sqrt(information) : 0;
	const fixedHorizonPValue = twoSided ? normalTwoSided(score) : normalSf(score);

	// The mixture: log of ∫ exp(ℓ(η)) g(η) dη over η ∈ (lo, hi).
	const lo = twoSided ? -MAX_LOG_RATIO : 0;
	const hi = MAX_LOG_RATIO;
	const logPrior = (eta: number) =>
		-(eta * eta) / (2 * scale * scale) - Math.log(scale) - LOG_SQRT_2PI + (twoSided ? 0 : Math.LN2);
	const posterior = (eta: number) => {
		const r = ll(eta);
		return { d1: r.d1 - eta / (scale * scale), d2: r.d2 - 1 / (scale * scale) };
	};
	const mode = decreasingRoot(posterior, lo, hi);
	const sd = 1 / Math.sqrt(-posterior(mode).d2);
	const logIntegrand = (eta: number) => ll(eta).value + logPrior(eta);
	const peak = logIntegrand(mode);
	let left = Math.max(lo, mode - 12 * sd);
	let right = Math.min(hi, mode + 12 * sd);
	for (let i = 0; i < 8 && left > lo && logIntegrand(left) > peak - 40; i++)
		left = Math.max(lo, mode - (mode - left) * 2);
	for (let i = 0; i < 8 && right < hi && logIntegrand(right) > peak - 40; i++)
		right = Math.min(hi, mode + (right - mode) * 2);
	const logE = simpsonLog(logIntegrand, left, right, 64, peak);
	const pValue = Math.min(previous, Math.min(1, Math.exp(-logE)));
	const r = scale * scale * information;
	const half = r > 0 && se > 0 ? boundary(r, options.alpha, options.alternative) * se : null;
	const ci: Interval =
		half === null ? [null, null] : twoSided ? [mle - half, mle + half] : [mle - half, null];
	return {
		...base,
		pValue,
		logE,
		rejected: pValue <= options.alpha,
		logRatio: mle,
		se,
		ci,
		fixedHorizonPValue,
		information,
		dispersion,
	};
}

/** log ∫ exp(f) over [a, b] by Simpson's rule with n (even) intervals, computed around `peak`. */
function simpsonLog(
	f: (x: number) => number,
	a: number,
	b: number,
	n: number,
	peak: number,
): number {
	if (!(b > a)) return Number.NEGATIVE_INFINITY;
	const h = (b - a) / n;
	let sum = 0;
	for (let i = 0; i <= n; i++) {
		const weight = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2;
		sum += weight * Math.exp(f(a + i * h) - peak);
	}
	return peak + Math.log((sum * h) / 3);
}
