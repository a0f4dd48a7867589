/**
 * A virtual clock with a timer queue, for driving recorders (IngestBuffer)
 * without waiting: `later` queues a task at now + ms, `keep` tracks work
 * started now, `advance` moves time forward in steps and runs the tasks that
 * fell due in each step together (concurrently), the way many isolates'
 * timers would fire, waiting for all of it before the next step.
 */
export class VirtualClock {
	#now: number;
	#timers: { at: number; order: number; task: () => Promise<void> }[] = [];
	#order = 0;
	#kept = new Set<Promise<void>>();

	constructor(start = 0) {
		this.#now = start;
	}

	now = (): number => this.#now;

	/** Queues `task` to run `ms` from now (at the next step when ms ≤ 0). */
	later = (ms: number, task: () => Promise<void>): void => {
		this.#timers.push({ at: this.#now + Math.max(0, ms), order: this.#order++, task });
	};

	/** Keeps `work` (already started) to be awaited with the tasks of the current step. */
	keep = (work: Promise<void>): void => {
		this.#kept.add(work);
		void work.finally(() => this.#kept.delete(work));
	};

	/** Tasks queued and not yet run. */
	get queued(): number {
		return this.#timers.length;
	}

	/**
	 * Runs every task due at or before the current time, together, and then
	 * those they queued for now, until none is due.
	 */
	async runDue(): Promise<void> {
		for (;;) {
			const due = this.#timers.filter((t) => t.at <= this.#now);
			if (due.length === 0 && this.#kept.size === 0) return;
			this.#timers = this.#timers.filter((t) => t.at > this.#now);
			due.sort((a, b) => a.at - b.at || a.order - b.order);
			await Promise.all([...due.map((t) => t.task()), ...this.#kept]);
		}
	}

	/** Moves time to `until` in steps of `stepMs`, running what falls due at each step. */
	async advance(until: number, stepMs: number): Promise<void> {
		while (this.#now < until) {
			this.#now = Math.min(until, this.#now + stepMs);
			await this.runDue();
		}
	}

	/** Moves time to `at` (no earlier than now) and runs what is due. */
	async setTime(at: number): Promise<void> {
		this.#now = Math.max(this.#now, at);
		await this.runDue();
	}
}
