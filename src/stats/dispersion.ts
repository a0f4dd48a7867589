/**
 * Overdispersion: how much more the per-minute comparisons of two arms vary
 * than their sampling model says. Errors come in bursts (a retry storm, a
 * bad batch) and each arm's rate drifts from minute to minute on its own;
 * requests are not independent draws. Treating them as such makes every
 * test too sure of itself.
 *
 * Model. Stratum s (a minute) gives an estimate y_s whose sampling variance
 * under the model is v_s (information h_s = 1/v_s). Its actual variance is
 *
 *   a · v_s + κ,   a ≥ 1, κ ≥ 0,
 *
 * a multiplicative part (a: events arrive in clusters of a mean "size", as
 * in quasi-Poisson models) and an additive part (κ: arm-specific
 * fluctuations from minute to minute, in the squared units of y, as in a
 * random-effects meta-analysis). The Pearson residual r_s = (y_s − ŷ_s)/√v_s
 * then has E[r_s²] = a + κ·h_s, so (a, κ) are estimated by weighted least
 * squares of r_s² on h_s, with weights 1/Var(r_s²) ≈ 1/(2φ_s² + φ_s·t_s),
 * φ_s = a + κ h_s (t_s the extra kurtosis of small counts), iterated.
 *
 * Fluctuations common to both arms cancel in y_s (a within-minute
 * comparison), so only what differs between the arms widens the tests.
 */

export interface Dispersion {
	/** Multiplicative factor on the model variance (≥ 1). */
	a: number;
	/** Additive variance per stratum, in the squared units of the estimate (≥ 0). */
	kappa: number;
	/** Strata the estimate rests on. */
	strata: number;
}

/** No overdispersion: the sampling model as it is. */
export const NO_DISPERSION: Dispersion = { a: 1, kappa: 0, strata: 0 };

export interface PearsonPoint {
	/** Squared Pearson residual (y − ŷ)² / v. */
	r2: number;
	/** Information of the stratum, 1 / v. */
	h: number;
	/** Extra variance of r² beyond 2φ² (1/expected count for small counts; 0 for means). */
	tail?: number;
}

/** Fewer informative strata than this and the model is taken as it is. */
export const MIN_DISPERSION_STRATA = 4;

/** Variance factor of one stratum: a + κ·h. */
export function dispersionFactor(d: Dispersion, h: number): number {
	return d.a + d.kappa * h;
}

/**
 * Estimates (a, κ) from the Pearson residuals of the strata (and an optional
 * anchor). The estimate is shrunk towards (priorA, 0) by `priorStrata`
 * pseudo-strata (default 2), so a handful of minutes cannot swing it; with
 * fewer than {@link MIN_DISPERSION_STRATA} strata it is (priorA, 0).
 * `priorA` (default 1) is the index of dispersion assumed until the data say
 * otherwise.
 */
export function estimateDispersion(
	points: readonly PearsonPoint[],
	options: { priorStrata?: number; priorA?: number; anchor?: DispersionAnchor } = {},
): Dispersion {
	const data = points.filter((p) => p.h > 0 && Number.isFinite(p.r2) && Number.isFinite(p.h));
	const anchor = options.anchor;
	const anchored =
		anchor && anchor.weight > 0 && anchor.h > 0 && Number.isFinite(anchor.r2)
			? Array.from(
					{ length: Math.round(anchor.weight) },
					(): PearsonPoint => ({ r2: anchor.r2, h: anchor.h }),
				)
			: [];
	const priorA = Math.max(1, options.priorA ?? 1);
	if (data.length + anchored.length < MIN_DISPERSION_STRATA)
		return { a: priorA, kappa: 0, strata: data.length };
	const used = [...data, ...anchored];
	const prior = options.priorStrata ?? 2;
	let a = 1;
	let kappa = 0;
	for (let iteration = 0; iteration < 4; iteration++) {
		// Weighted normal equations for r² ≈ a + κ h.
		let sw = 0;
		let swh = 0;
		let swhh = 0;
		let swr = 0;
		let swhr = 0;
		for (const p of used) {
			const phi = a + kappa * p.h;
			const w = 1 / (2 * phi * phi + phi * (p.tail ?? 0));
			sw += w;
			swh += w * p.h;
			swhh += w * p.h * p.h;
			swr += w * p.r2;
			swhr += w * p.h * p.r2;
		}
		// `prior` pseudo-strata with r² = priorA, of average weight, their h spread like
		// the data's: they pull (a, κ) towards (priorA, 0).
		const share = prior / used.length;
		const fit = constrainedFit(
			sw * (1 + share),
			swh * (1 + share),
			swhh * (1 + share),
			swr + share * sw * priorA,
			swhr + share * swh * priorA,
		);
		a = fit.a;
		kappa = fit.kappa;
	}
	return { a, kappa, strata: data.length };
}

/**
 * Outside knowledge of the dispersion line: E[r²] = `r2` at information `h`,
 * worth `weight` strata. The count tests anchor the line with the champion's
 * own minute-to-minute variability, which is measured precisely from the
 * first minutes, long before the candidate has enough events (see
 * {@link seriesDispersion}).
 */
export interface DispersionAnchor {
	r2: number;
	h: number;
	weight: number;
}

/**
 * The dispersion of one arm's event counts over consecutive minutes:
 * E[(X_t − X_{t−1})²] ≈ (a + κ·μ/2)·(μ_t + μ_{t−1}) for counts with
 * cluster index a and per-minute rate noise κ/2 (as a squared coefficient of
 * variation), so the ratio of the two sums is a point of the dispersion line
 * at h = μ/2, μ the mean count per minute. Differences of neighbouring
 * minutes ignore slow trends (the time of day, a ramp); the largest tenth of
 * the terms is left out so a one-minute spike in both arms does not count,
 * and the rest is rescaled as for a χ²₁ variable (E[X; X ≤ q₀.₉] = 0.561).
 * Noise shared with the other arm shows up here too: the anchor errs on the
 * safe (wider) side.
 */
export function seriesDispersion(counts: readonly number[]): DispersionAnchor | null {
	const terms: { d2: number; sum: number }[] = [];
	for (let i = 1; i < counts.length; i++) {
		const a = counts[i - 1] as number;
		const b = counts[i] as number;
		if (a + b > 0) terms.push({ d2: (b - a) ** 2, sum: a + b });
	}
	if (terms.length < MIN_DISPERSION_STRATA) return null;
	terms.sort((x, y) => x.d2 / x.sum - y.d2 / y.sum);
	const kept = terms.length >= 10 ? terms.slice(0, Math.ceil(terms.length * 0.9)) : terms;
	const correction = kept.length < terms.length ? (0.561 / 0.9) * (kept.length / terms.length) : 1;
	let d2 = 0;
	let sum = 0;
	for (const t of kept) {
		d2 += t.d2;
		sum += t.sum;
	}
	const mean = counts.reduce((s, x) => s + x, 0) / counts.length;
	return { r2: d2 / sum / correction, h: mean / 2, weight: terms.length };
}

/** Least squares of r² on (1, h) with a ≥ 1 and κ ≥ 0, from weighted sums. */
function constrainedFit(
	sw: number,
	swh: number,
	swhh: number,
	swr: number,
	swhr: number,
): { a: number; kappa: number } {
	const det = sw * swhh - swh * swh;
	if (det > 1e-12 * sw * swhh) {
		const a = (swhh * swr - swh * swhr) / det;
		const kappa = (sw * swhr - swh * swr) / det;
		if (a >= 1 && kappa >= 0) return { a, kappa };
	}
	// On the boundary: either a = 1 with κ free, or κ = 0 with a free; keep the better fit.
	const kappaAtOne = swhh > 0 ? Math.max(0, (swhr - swh) / swhh) : 0;
	const aAtZero = Math.max(1, swr / sw);
	// Weighted residual sums of squares up to a common constant: Σw(r² − a − κh)².
	const sse = (x: number, k: number) =>
		x * x * sw + k * k * swhh + 2 * x * k * swh - 2 * x * swr - 2 * k * swhr;
	return sse(1, kappaAtOne) <= sse(aAtZero, 0)
		? { a: 1, kappa: kappaAtOne }
		: { a: aAtZero, kappa: 0 };
}
