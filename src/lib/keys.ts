/**
 * Signing keys and their ids, for key rotation. `SIGNING_KEYS` (a secret:
 * comma-separated, the current key first, then previous ones) takes
 * precedence over `SIGNING_KEY`. Cookies and request ids carry the id of the
 * key that signed them, derived from the key itself, so the order of the list
 * can change without invalidating anything: new values are signed with the
 * first key, and every listed key still verifies what it signed.
 */
export interface SigningKey {
	/** 6 base-36 characters derived from the secret; never reveals it. */
	id: string;
	secret: string;
}

export interface SigningKeys {
	current: SigningKey;
	byId: ReadonlyMap<string, SigningKey>;
	all: readonly SigningKey[];
}

const cache = new Map<string, SigningKeys>();

/** The id of a key: a 32-bit FNV-1a hash of the secret, in base 36 (not reversible to it). */
export function keyId(secret: string): string {
	let h = 0x811c9dc5;
	for (const byte of new TextEncoder().encode(`switchyard-key-id:${secret}`)) {
		h ^= byte;
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(36).padStart(6, "0").slice(-6);
}

/** The keys an environment signs and verifies with; throws when none is configured. */
export function signingKeys(env: { SIGNING_KEY?: string; SIGNING_KEYS?: string }): SigningKeys {
	const source = env.SIGNING_KEYS?.trim() ? env.SIGNING_KEYS : (env.SIGNING_KEY ?? "");
	let keys = cache.get(source);
	if (!keys) {
		const all = source
			.split(",")
			.map((s) => s.trim())
			.filter((s) => s.length > 0)
			.map((secret) => ({ id: keyId(secret), secret }));
		const current = all[0];
		if (!current) throw new Error("no signing key: set the SIGNING_KEY secret");
		keys = { current, byId: new Map(all.map((k) => [k.id, k])), all };
		if (cache.size > 8) cache.clear();
		cache.set(source, keys);
	}
	return keys;
}
