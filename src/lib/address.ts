/**
 * The key a client is rate-limited by: its IPv4 address, or the /64 prefix
 * of its IPv6 address (one subscriber usually holds a whole /64, so per
 * address would give it 2^64 budgets).
 */
export function clientKey(address: string | null | undefined): string {
	if (!address) return "unknown";
	if (!address.includes(":")) return address;
	const [head = "", tail = ""] = address.toLowerCase().split("::");
	const left = head === "" ? [] : head.split(":");
	const right = address.includes("::") && tail !== "" ? tail.split(":") : [];
	// A trailing embedded IPv4 (::ffff:1.2.3.4) takes two groups; it only matters past the prefix.
	const groups = address.includes("::")
		? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
		: left;
	const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g || "0", 16).toString(16));
	return `${prefix.join(":")}::/64`;
}
