/**
 * Bucketing: a versioned, seeded, non-cryptographic hash of (salt, unit) to a
 * bucket 0..9999. A unit is on the candidate iff bucket < weight × 100, so
 * assignment is sticky (same inputs, same bucket) and monotonic in the weight
 * (raising it only adds units). Test vectors: test/fixtures/hash-cases.json.
 *
 * Warning: the hash of a version must never change once live, or every user
 * is silently reassigned. Add a new version instead.
 */

export const BUCKETS = 10_000;

const encoder = new TextEncoder();

/** The UTF-8 bytes of `key`: ASCII read directly (the hot path's ids are), others encoded. */
function utf8(key: string): Uint8Array {
	const length = key.length;
	if (length <= scratch.length) {
		let i = 0;
		for (; i < length; i++) {
			const code = key.charCodeAt(i);
			if (code > 127) break;
			scratch[i] = code;
		}
		if (i === length) return scratch.subarray(0, length);
	}
	return encoder.encode(key);
}

/** Reused for ASCII keys; murmur3 never keeps a reference to it. */
const scratch = new Uint8Array(512);

/** MurmurHash3 x86 32-bit of the UTF-8 bytes of `key`. */
export function murmur3(key: string, seed = 0): number {
	const bytes = utf8(key);
	const length = bytes.length;
	const blocks = length >>> 2;
	let h = seed >>> 0;
	for (let i = 0; i < blocks; i++) {
		const j = i << 2;
		let k =
			(bytes[j] as number) |
			((bytes[j + 1] as number) << 8) |
			((bytes[j + 2] as number) << 16) |
			((bytes[j + 3] as number) << 24);
		k = Math.imul(k, 0xcc9e2d51);
		k = (k << 15) | (k >>> 17);
		k = Math.imul(k, 0x1b873593);
		h ^= k;
		h = (h << 13) | (h >>> 19);
		h = (Math.imul(h, 5) + 0xe6546b64) | 0;
	}
	const tail = blocks << 2;
	let k = 0;
	switch (length & 3) {
		// biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur3's tail deliberately falls through
		case 3:
			k ^= (bytes[tail + 2] as number) << 16;
		// biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur3's tail deliberately falls through
		case 2:
			k ^= (bytes[tail + 1] as number) << 8;
		case 1:
			k ^= bytes[tail] as number;
			k = Math.imul(k, 0xcc9e2d51);
			k = (k << 15) | (k >>> 17);
			k = Math.imul(k, 0x1b873593);
			h ^= k;
	}
	h ^= length;
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/** The bucket (0..9999) of `unit` under `salt`, hash version 1. */
export function bucketOf(salt: string, unit: string, hashVersion = 1): number {
	if (hashVersion !== 1) throw new RangeError(`unknown hash version ${hashVersion}`);
	return Math.floor((murmur3(`${salt}:${unit}`) * BUCKETS) / 4294967296);
}

/** True when a unit in `bucket` gets the candidate at `threshold` basis points (weight × 100). */
export function onCandidate(bucket: number, threshold: number): boolean {
	return bucket < threshold;
}
