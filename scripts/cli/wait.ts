/**
 * `switchyard wait NAME --until STATE`: follows a rollout, printing each
 * decision as it happens, until it reaches STATE (exit 0), ends in another
 * state (exit 1: promoted, aborted or concluded when something else was
 * awaited), or the timeout passes (exit 3). STATE is a status
 * (running, promoted, aborted, …) or `awaiting_approval` (held by an
 * approval gate, canary.approvalBefore). A CI step's gate.
 */
import type { Client } from "./client";

export const WAIT_TARGETS = [
	"pending",
	"shadowing",
	"running",
	"paused",
	"promoted",
	"aborted",
	"concluded",
	"awaiting_approval",
] as const;
export type WaitTarget = (typeof WAIT_TARGETS)[number];

export const isWaitTarget = (value: string): value is WaitTarget =>
	(WAIT_TARGETS as readonly string[]).includes(value);

/** Exit codes of `wait` (and `apply --wait`). */
export const WAIT_REACHED = 0;
export const WAIT_ENDED_ELSEWHERE = 1;
export const WAIT_TIMED_OUT = 3;

const ENDED = new Set(["promoted", "aborted", "concluded"]);

/** What `wait` looks at of a deployment (the list endpoint's row). */
export interface Observed {
	status: string;
	weight: number;
	step: number;
	reason: string;
	lastDecision: { kind: string; reason: string; time: string; code?: string } | null;
}

/** Whether `observed` is the awaited state. */
export function reached(target: WaitTarget, observed: Observed): boolean {
	if (target !== "awaiting_approval") return observed.status === target;
	const last = observed.lastDecision;
	return (
		!ENDED.has(observed.status) &&
		last !== null &&
		last.kind === "hold" &&
		(last.code === "awaiting_approval" || /^awaiting approval/.test(last.reason))
	);
}

/** The rollout ended in a state other than the awaited one: no further wait can reach it. */
export function endedElsewhere(target: WaitTarget, observed: Observed): boolean {
	return ENDED.has(observed.status) && !reached(target, observed);
}

/** One line per change: status, weight and the latest decision. */
export function describe(observed: Observed): string {
	const last = observed.lastDecision;
	return `${observed.status} at ${observed.weight} % (step ${observed.step}) — ${last ? `${last.kind}: ${last.reason}` : observed.reason}`;
}

export interface WaitOptions {
	name: string;
	until: WaitTarget;
	/** Seconds; none: wait as long as it takes. */
	timeoutSeconds?: number;
	intervalSeconds: number;
	out(line: string): void;
	sleep(ms: number): Promise<void>;
	now?: () => number;
}

/** Polls until the target is reached, the rollout ends elsewhere, or the timeout passes; returns the exit code. */
export async function waitFor(
	{ api, ok }: Client,
	options: WaitOptions,
	notFound: () => Error,
): Promise<number> {
	const now = options.now ?? Date.now;
	const deadline =
		options.timeoutSeconds === undefined
			? Number.POSITIVE_INFINITY
			: now() + options.timeoutSeconds * 1000;
	let last = "";
	for (;;) {
		const { deployments } = await (await ok(api.deployments.$get())).json();
		const observed = deployments.find((d) => d.name === options.name);
		if (!observed) throw notFound();
		const line = describe(observed);
		if (line !== last) {
			options.out(`${new Date(now()).toISOString().slice(11, 19)}  ${line}`);
			last = line;
		}
		if (reached(options.until, observed)) return WAIT_REACHED;
		if (endedElsewhere(options.until, observed)) {
			options.out(`${options.name} ended ${observed.status}, not ${options.until}`);
			return WAIT_ENDED_ELSEWHERE;
		}
		const left = deadline - now();
		if (left <= 0) {
			options.out(`timed out after ${options.timeoutSeconds} s waiting for ${options.until}`);
			return WAIT_TIMED_OUT;
		}
		await options.sleep(Math.min(options.intervalSeconds * 1000, left));
	}
}
