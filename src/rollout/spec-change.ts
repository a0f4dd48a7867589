/**
 * Which spec changes the admin API refuses on a rollout, and why. Pure.
 *
 * - A rebucketing change — the salt, the hash version or the ingest shard
 *   count — while units follow the old bucketing (anything but pending or
 *   aborted) reassigns users (or moves their feedback de-duplication to
 *   other shards, so a repeated value could count twice): refused unless
 *   asked for (`?rebucket=true`).
 * - A new backend or version for a variant of a rollout in progress would
 *   mix two models' metrics: refused unless forced (`?force=true`).
 */
import { backendIdentity, type DeploymentSpec, saltOf } from "../config/spec";
import type { RolloutState } from "../config/state";
import { bucketsUnits, inProgress } from "./state-machine";

const VARIANTS = ["champion", "candidate"] as const;

export type Bucketing = { salt: string; hashVersion: number; shards: number };

export type SpecChangeRefusal =
	| {
			code: "rebucket_refused";
			message: string;
			details: Record<"from" | "to", Bucketing>;
	  }
	| {
			code: "backend_change_refused";
			message: string;
			details: { variant: (typeof VARIANTS)[number]; from: string; to: string }[];
	  };

function bucketing(spec: DeploymentSpec): Bucketing {
	return {
		salt: saltOf(spec),
		hashVersion: spec.assignment.hashVersion,
		shards: spec.ingest.shards,
	};
}

/** True when the new spec assigns users differently (salt or hash version). */
export function rebuckets(existing: DeploymentSpec, next: DeploymentSpec): boolean {
	return (
		saltOf(existing) !== saltOf(next) ||
		existing.assignment.hashVersion !== next.assignment.hashVersion
	);
}

/** Why replacing `existing` by `next` on a rollout in `state` is refused; null when it is allowed. */
export function specChangeRefusal(
	existing: DeploymentSpec,
	next: DeploymentSpec,
	state: RolloutState,
	allow: { rebucket: boolean; force: boolean },
): SpecChangeRefusal | null {
	const rebucketed = rebuckets(existing, next);
	const resharded = existing.ingest.shards !== next.ingest.shards;
	if ((rebucketed || resharded) && bucketsUnits(state) && !allow.rebucket)
		return {
			code: "rebucket_refused",
			message: rebucketed
				? "changing the salt or hash version of a live deployment reassigns its users; repeat with ?rebucket=true to do it anyway"
				: "changing ingest.shards of a live deployment moves its units' feedback de-duplication (a repeated value could count twice); repeat with ?rebucket=true to do it anyway",
			details: { from: bucketing(existing), to: bucketing(next) },
		};
	const changed = VARIANTS.filter(
		(v) => backendIdentity(existing[v]) !== backendIdentity(next[v]),
	).map((variant) => ({
		variant,
		from: backendIdentity(existing[variant]),
		to: backendIdentity(next[variant]),
	}));
	if (changed.length > 0 && inProgress(state) && !allow.force)
		return {
			code: "backend_change_refused",
			message:
				"a new backend or version for a variant of a rollout in progress would mix two models' metrics; abort or finish the rollout first, or repeat with ?force=true",
			details: changed,
		};
	return null;
}
