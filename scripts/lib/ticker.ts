/**
 * The controller's clock for the local edge: `wrangler dev` does not fire
 * cron triggers by itself, so `npm start` fires the router's scheduled
 * handler at every minute boundary, as the deployed `* * * * *` trigger
 * would. Tests and the demo drive the cron themselves instead.
 */

export interface TickerOptions {
	/** The edge's base URL, e.g. http://127.0.0.1:8787. */
	url: string;
	/** Fire every this many ms; default: at each minute boundary, like a cron trigger. */
	everyMs?: number;
	/** Told of each tick's outcome (the status, or the error when the edge could not be reached). */
	onTick?: (tick: { at: Date; status?: number; error?: string }) => void;
}

export interface Ticker {
	stop(): void;
	/** Ticks fired so far. */
	readonly ticks: number;
}

/** The scheduled handler's local trigger (wrangler dev --test-scheduled, Miniflare). */
export function scheduledUrl(base: string): string {
	return `${base.replace(/\/+$/, "")}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`;
}

/** Milliseconds from `now` to the next tick: the next minute boundary, or `everyMs` later. */
export function untilNextTick(now: number, everyMs?: number): number {
	if (everyMs !== undefined) return everyMs;
	return 60_000 - (now % 60_000);
}

export function startTicker(options: TickerOptions): Ticker {
	let ticks = 0;
	let timer: ReturnType<typeof setTimeout> | undefined;
	let stopped = false;
	const tick = async () => {
		if (stopped) return;
		ticks += 1;
		const at = new Date();
		try {
			const response = await fetch(scheduledUrl(options.url));
			await response.arrayBuffer();
			options.onTick?.({ at, status: response.status });
		} catch (error) {
			options.onTick?.({ at, error: error instanceof Error ? error.message : String(error) });
		}
		schedule();
	};
	const schedule = () => {
		if (stopped) return;
		timer = setTimeout(() => void tick(), untilNextTick(Date.now(), options.everyMs));
	};
	schedule();
	return {
		stop() {
			stopped = true;
			clearTimeout(timer);
		},
		get ticks() {
			return ticks;
		},
	};
}
