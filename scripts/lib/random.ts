/**
 * A seeded pseudo-random generator and the samplers the simulations need.
 * Deterministic for a given seed, so simulations and tests are repeatable.
 */

/** mulberry32: a small, fast 32-bit generator with a good spread. */
export function createRandom(seed: number): Random {
	let state = seed >>> 0;
	const next = (): number => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	return new Random(next);
}

export class Random {
	#spare: number | null = null;
	constructor(readonly uniform: () => number) {}

	/** Standard normal (Marsaglia polar method). */
	normal(): number {
		if (this.#spare !== null) {
			const value = this.#spare;
			this.#spare = null;
			return value;
		}
		let u: number;
		let v: number;
		let s: number;
		do {
			u = 2 * this.uniform() - 1;
			v = 2 * this.uniform() - 1;
			s = u * u + v * v;
		} while (s >= 1 || s === 0);
		const factor = Math.sqrt((-2 * Math.log(s)) / s);
		this.#spare = v * factor;
		return u * factor;
	}

	/** Log-normal with the given median and log-scale sigma. */
	logNormal(median: number, sigma: number): number {
		return median * Math.exp(sigma * this.normal());
	}

	/** Poisson(mean): inversion for small means, normal approximation above 500. */
	poisson(mean: number): number {
		if (mean <= 0) return 0;
		if (mean > 500) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
		const limit = Math.exp(-mean);
		let k = 0;
		let p = this.uniform();
		while (p > limit) {
			k++;
			p *= this.uniform();
		}
		return k;
	}

	/** Binomial(n, p): exact for small n·p via inversion, normal approximation for large. */
	binomial(n: number, p: number): number {
		if (n <= 0 || p <= 0) return 0;
		if (p >= 1) return n;
		const mean = n * p;
		const variance = mean * (1 - p);
		if (variance > 50) {
			const x = Math.round(mean + Math.sqrt(variance) * this.normal());
			return Math.min(n, Math.max(0, x));
		}
		// Inversion over the pmf, stepping from 0.
		const q = 1 - p;
		let pmf = q ** n;
		let cdf = pmf;
		const u = this.uniform();
		let k = 0;
		while (u > cdf && k < n) {
			pmf *= ((n - k) / (k + 1)) * (p / q);
			k++;
			cdf += pmf;
			if (pmf < 1e-300 && k > mean) break;
		}
		return k;
	}

	/** Gamma(shape, 1) (Marsaglia–Tsang; shape < 1 boosted by U^(1/shape)). */
	gamma(shape: number): number {
		if (shape <= 0) return 0;
		if (shape < 1) return this.gamma(shape + 1) * this.uniform() ** (1 / shape);
		const d = shape - 1 / 3;
		const c = 1 / Math.sqrt(9 * d);
		for (;;) {
			let x: number;
			let v: number;
			do {
				x = this.normal();
				v = 1 + c * x;
			} while (v <= 0);
			v = v * v * v;
			const u = this.uniform();
			if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v)))
				return d * v;
		}
	}

	/** Geometric on {1, 2, …} with success probability p (mean 1/p). */
	geometric(p: number): number {
		if (p >= 1) return 1;
		const u = this.uniform();
		return 1 + Math.floor(Math.log(1 - u) / Math.log(1 - p));
	}

	/** χ² with k degrees of freedom (sum of squares for small k, Wilson–Hilferty above). */
	chiSquare(k: number): number {
		if (k <= 30) {
			let s = 0;
			for (let i = 0; i < k; i++) s += this.normal() ** 2;
			return s;
		}
		const c = 2 / (9 * k);
		return k * (1 - c + Math.sqrt(c) * this.normal()) ** 3;
	}
}
