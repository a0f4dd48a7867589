/**
 * How long a canary needs, at the traffic it gets, to catch a clearly harmful
 * candidate: the expected minutes from the rollout's start until each
 * guardrail's always-valid test would abort one, following the steps
 * (minRequests and bake time each) at the observed request rate. Each
 * guardrail states its own reference harm and time (signals/*.ts, from
 * signals/detection.ts); this gathers them. A canary that needs more than a
 * day is "underpowered": it will promote, or sit for days, before it could
 * tell a bad candidate from a good one. Pure.
 */
import type { DeploymentSpec } from "../config/spec";
import type { VariantAggregate } from "../metrics/aggregate";
import { MAX_POWER_MINUTES, promotionMinutes, schedule } from "../signals/detection";
import { guardrailsOf } from "../signals/registry";
import type { Stratum } from "../signals/strata";
import type { DetectionTime } from "../signals/types";

export type { DetectionTime };
export { MAX_POWER_MINUTES };

/** A canary that needs more than this many minutes to detect harm is underpowered. */
export const UNDERPOWERED_MINUTES = 24 * 60;

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

/** Requests per minute over the strata's span, both arms. */
function observedRate(strata: readonly Stratum[]): number {
	const first = strata[0]?.minute;
	const last = strata[strata.length - 1]?.minute;
	let requests = 0;
	for (const s of strata) requests += s.champion.requests + s.candidate.requests;
	const minutes = first === undefined || last === undefined ? 0 : last - first + 1;
	return minutes > 0 ? requests / minutes : 0;
}

/**
 * The power report of a canary from its strata so far and the champion over
 * the rollout (with its pooled latency histogram); `alpha` is each
 * guardrail's share.
 */
export function powerOf(
	spec: DeploymentSpec,
	strata: readonly Stratum[],
	champion: VariantAggregate,
	alpha: number,
): PowerReport {
	const rate = observedRate(strata);
	const promote = promotionMinutes(schedule(spec.canary, rate));
	const context = { spec, requestsPerMinute: rate, champion, alpha };
	const detection = guardrailsOf(spec, "canary").flatMap((g) =>
		g.detection ? [g.detection(context, promote)] : [],
	);
	const known = detection.flatMap((d) => (d.minutes === null ? [] : [d.minutes]));
	const minutesToDecision = known.length > 0 ? Math.max(...known) : null;
	const underpowered = minutesToDecision !== null && minutesToDecision > UNDERPOWERED_MINUTES;
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
		detail: underpowered ? `underpowered: ${detail}` : detail,
	};
}

function duration(minutes: number): string {
	if (minutes >= MAX_POWER_MINUTES) return "more than 30 days";
	if (minutes >= 2 * 24 * 60) return `${(minutes / 1440).toFixed(1)} days`;
	if (minutes >= 120) return `${(minutes / 60).toFixed(1)} h`;
	return `${minutes} min`;
}
