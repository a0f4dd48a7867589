import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientKey } from "../../src/lib/address";

/** An IPv6 address written out, and with its longest run of zero groups as `::`. */
function written(groups: number[]): string[] {
	const hex = groups.map((g) => g.toString(16));
	const full = hex.join(":");
	let best = { start: -1, length: 0 };
	for (let i = 0; i < 8; ) {
		let j = i;
		while (j < 8 && groups[j] === 0) j++;
		if (j - i > best.length) best = { start: i, length: j - i };
		i = j === i ? i + 1 : j;
	}
	if (best.length < 2) return [full, full.toUpperCase()];
	const short = `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
	return [full, short, short.toUpperCase()];
}

describe("the rate-limit key of a client address", () => {
	const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
	const address = fc.array(group, { minLength: 8, maxLength: 8 });

	it("is the /64 of an IPv6 address, however it is written (property)", () => {
		fc.assert(
			fc.property(address, address, (a, b) => {
				const keys = written(a).map(clientKey);
				expect(new Set(keys).size).toBe(1);
				// Another interface in the same /64 is the same client; another /64 is not.
				const sibling = [...a.slice(0, 4), ...b.slice(4)];
				expect(written(sibling).map(clientKey)).toContain(keys[0]);
				const samePrefix = a.slice(0, 4).every((g, i) => g === b[i]);
				expect(written(b).map(clientKey)[0] === keys[0]).toBe(samePrefix);
			}),
			{ seed: 64, numRuns: 500 },
		);
	});

	it("keeps IPv4 addresses whole and names a missing one", () => {
		expect(clientKey("198.51.100.7")).toBe("198.51.100.7");
		expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
		expect(clientKey("::1")).toBe("0:0:0:0::/64");
		expect(clientKey(null)).toBe("unknown");
	});
});
