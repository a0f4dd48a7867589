/**
 * Which variant a unit gets: the pure decision from its bucket and the
 * routing threshold. Kept apart from hashing so the invariants (sticky,
 * monotonic, independent per salt) can be property-tested on their own.
 */
import { bucketOf, onCandidate } from "./hash";

export type Variant = "champion" | "candidate";

/** The variant of `unit` for a deployment hashed with `salt` at `threshold` basis points. */
export function assignVariant(
	salt: string,
	unit: string,
	threshold: number,
	hashVersion = 1,
): Variant {
	return onCandidate(bucketOf(salt, unit, hashVersion), threshold) ? "candidate" : "champion";
}
