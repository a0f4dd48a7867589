import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assignVariant } from "../../src/routing/assign";
import { BUCKETS, bucketOf, murmur3 } from "../../src/routing/hash";
import cases from "../fixtures/hash-cases.json";

describe("murmur3 x86 32-bit", () => {
	it.each(cases.murmur3)("hashes $key with seed $seed", ({ key, seed, hash }) => {
		expect(murmur3(key, seed)).toBe(hash);
	});
});

describe("bucketing (hash version 1)", () => {
	it.each(cases.buckets)(
		"puts $unit under salt $salt in bucket $bucket",
		({ salt, unit, bucket }) => {
			expect(bucketOf(salt, unit)).toBe(bucket);
		},
	);

	it("refuses an unknown hash version instead of silently re-bucketing", () => {
		expect(() => bucketOf("s", "u", 2)).toThrow(/unknown hash version/);
	});

	it("always lands in 0..9999", () => {
		fc.assert(
			fc.property(fc.string(), fc.string(), (salt, unit) => {
				const bucket = bucketOf(salt, unit);
				expect(Number.isInteger(bucket)).toBe(true);
				expect(bucket).toBeGreaterThanOrEqual(0);
				expect(bucket).toBeLessThan(BUCKETS);
			}),
		);
	});
});

const weight = fc.integer({ min: 0, max: 10_000 });

describe("assignment invariants", () => {
	// Stickiness is pinned by the vectors above (the same inputs always give the same bucket) and,
	// end to end, by the cookie and header tests in request-path-integration.
	it("is monotonic: a unit on the candidate at w1 stays on it at any w2 ≥ w1", () => {
		fc.assert(
			fc.property(fc.string(), fc.uuid(), weight, weight, (salt, unit, a, b) => {
				const [w1, w2] = a <= b ? [a, b] : [b, a];
				if (assignVariant(salt, unit, w1) === "candidate") {
					expect(assignVariant(salt, unit, w2)).toBe("candidate");
				}
			}),
		);
	});

	it("is uniform: 100,000 random ids at weight 30 % land within 3σ of 30 %", () => {
		const n = 100_000;
		const ids = fc.sample(fc.uuid(), { numRuns: n, seed: 20261128 });
		const onCandidate = ids.filter(
			(id) => assignVariant("uniformity", id, 3000) === "candidate",
		).length;
		const sigma = Math.sqrt(n * 0.3 * 0.7);
		expect(Math.abs(onCandidate - 0.3 * n)).toBeLessThan(3 * sigma);
	});

	it("is independent across salts: P(candidate in both) ≈ P(A) · P(B)", () => {
		const n = 100_000;
		const ids = fc.sample(fc.uuid(), { numRuns: n, seed: 7 });
		let both = 0;
		for (const id of ids) {
			if (
				assignVariant("deployment-a", id, 3000) === "candidate" &&
				assignVariant("deployment-b", id, 5000) === "candidate"
			)
				both++;
		}
		const p = 0.3 * 0.5;
		expect(Math.abs(both - p * n)).toBeLessThan(3 * Math.sqrt(n * p * (1 - p)));
	});

	it("puts nobody on the candidate at 0 % and everybody at 100 %", () => {
		fc.assert(
			fc.property(fc.string(), fc.uuid(), (salt, unit) => {
				expect(assignVariant(salt, unit, 0)).toBe("champion");
				expect(assignVariant(salt, unit, 10_000)).toBe("candidate");
			}),
		);
	});
});
