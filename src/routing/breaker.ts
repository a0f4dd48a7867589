/**
 * A per-isolate circuit breaker on the candidate. KV can take a minute or
 * more to carry an abort to every location, so safety cannot wait for it: an
 * isolate that sees the candidate fail more than the spec's hard ceiling
 * (`canary.maxErrorRate`) over its last BREAKER_MIN_REQUESTS requests within
 * BREAKER_WINDOW_MS stops assigning it at once. The units it would have sent
 * are served by the champion (counted as `diverted`), until the isolate's
 * config for the deployment changes (a new spec or state: an abort, a new
 * weight, a fixed candidate).
 *
 * Pure apart from the per-isolate map of breakers, which is bounded like the
 * config cache.
 */

/** Candidate requests the window needs before the breaker may open (the ceiling's minimum too). */
export const BREAKER_MIN_REQUESTS = 20;
export const BREAKER_WINDOW_MS = 30_000;
const SLOTS = 30;
const SLOT_MS = BREAKER_WINDOW_MS / SLOTS;
const MAX_BREAKERS = 1000;

export class Breaker {
	#open = false;
	readonly #requests = new Array<number>(SLOTS).fill(0);
	readonly #failures = new Array<number>(SLOTS).fill(0);
	readonly #slotOf = new Array<number>(SLOTS).fill(-1);

	constructor(
		/** The config generation this breaker belongs to; a new one starts closed. */
		readonly generation: number,
		private readonly maxErrorRate: number,
	) {}

	get open(): boolean {
		return this.#open;
	}

	/** Records one candidate request; returns true when this one opened the breaker. */
	record(now: number, failed: boolean): boolean {
		if (this.#open) return false;
		const slot = Math.floor(now / SLOT_MS);
		const i = slot % SLOTS;
		if (this.#slotOf[i] !== slot) {
			this.#slotOf[i] = slot;
			this.#requests[i] = 0;
			this.#failures[i] = 0;
		}
		this.#requests[i] = (this.#requests[i] ?? 0) + 1;
		if (!failed) return false;
		this.#failures[i] = (this.#failures[i] ?? 0) + 1;
		let requests = 0;
		let failures = 0;
		for (let j = 0; j < SLOTS; j++) {
			if (slot - (this.#slotOf[j] ?? -1) < SLOTS) {
				requests += this.#requests[j] ?? 0;
				failures += this.#failures[j] ?? 0;
			}
		}
		if (requests >= BREAKER_MIN_REQUESTS && failures / requests > this.maxErrorRate) {
			this.#open = true;
			return true;
		}
		return false;
	}
}

/** Per-isolate counters, reported behind admin auth. */
export const breakerStats = { trips: 0, diverted: 0 };

const breakers = new Map<string, Breaker>();

/** The isolate's breaker for a deployment at a config generation (a new generation closes it). */
export function breakerFor(deployment: string, generation: number, maxErrorRate: number): Breaker {
	let breaker = breakers.get(deployment);
	if (breaker === undefined || breaker.generation !== generation) {
		if (breaker === undefined && breakers.size >= MAX_BREAKERS) {
			const oldest = breakers.keys().next().value;
			if (oldest !== undefined) breakers.delete(oldest);
		}
		breaker = new Breaker(generation, maxErrorRate);
		breakers.set(deployment, breaker);
	}
	return breaker;
}

/** Forgets every breaker (tests). */
export function clearBreakers(): void {
	breakers.clear();
}
