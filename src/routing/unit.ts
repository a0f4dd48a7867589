/**
 * The unit of assignment: a random id in a signed cookie, or a request header
 * named in the spec. A missing, malformed or forged cookie makes a new
 * visitor, never an error.
 *
 * The cookie is hono's signed cookie (value + "." + base64 HMAC-SHA-256,
 * URI-encoded), set with hono's generateSignedCookie; the signed value is
 * `<key id>:<unit id>`, so a rotated key (SIGNING_KEYS, see lib/keys.ts) still
 * verifies the cookies it signed, and such a cookie is re-signed with the
 * current key on the way out, keeping the unit id (no re-bucketing). A cookie
 * from before key ids (`<unit id>` alone) is tried against every key. It is
 * verified here with HMAC keys imported once per isolate instead of hono's
 * getSignedCookie, which imports the key on every call; the format is pinned
 * by a test that verifies cookies hono generated.
 */
import { generateSignedCookie } from "hono/cookie";
import type { Assignment } from "../config/spec";
import { hmacVerify } from "../lib/hmac";
import type { SigningKeys } from "../lib/keys";

export const UNIT_COOKIE = "sy_uid";
/** 400 days, the longest lifetime browsers honour. */
const MAX_AGE_SECONDS = 400 * 24 * 60 * 60;
const COOKIE_VALUE = /^[A-Za-z0-9-]{16,64}$/;
const MAX_HEADER_UNIT = 256;

export interface Unit {
	id: string;
	/** The response must set the cookie: a new visitor, or one whose cookie an old key signed. */
	fresh: boolean;
}

export async function unitOf(
	headers: Headers,
	assignment: Assignment,
	keys: SigningKeys,
): Promise<Unit> {
	if (assignment.unit === "header") {
		const value = headers.get(assignment.header);
		if (value && value.length <= MAX_HEADER_UNIT) return { id: value, fresh: false };
	}
	const cookie = await verifiedUnitCookie(headers.get("cookie"), keys);
	if (cookie) return { id: cookie.id, fresh: cookie.keyId !== keys.current.id };
	return { id: crypto.randomUUID(), fresh: true };
}

interface VerifiedCookie {
	id: string;
	/** The key that signed it. */
	keyId: string;
}

/**
 * Cookie values this isolate has already verified, so a returning visitor
 * costs no HMAC. Bounded (oldest out first) and emptied when the keys change.
 */
const verified = new Map<string, VerifiedCookie>();
const VERIFIED_LIMIT = 4096;
let verifiedWith: SigningKeys | undefined;

/** The unit id in a genuine `sy_uid` cookie (and the key that signed it), or null. */
export async function verifiedUnitCookie(
	cookieHeader: string | null,
	keys: SigningKeys,
): Promise<VerifiedCookie | null> {
	const raw = cookieValue(cookieHeader, UNIT_COOKIE);
	if (raw === null) return null;
	if (keys !== verifiedWith) {
		verified.clear();
		verifiedWith = keys;
	}
	const known = verified.get(raw);
	if (known !== undefined) return known;
	const cookie = await verifyCookieValue(raw, keys);
	if (cookie !== null) {
		if (verified.size >= VERIFIED_LIMIT) verified.delete(verified.keys().next().value as string);
		verified.set(raw, cookie);
	}
	return cookie;
}

async function verifyCookieValue(raw: string, keys: SigningKeys): Promise<VerifiedCookie | null> {
	let value: string;
	try {
		value = decodeURIComponent(raw);
	} catch {
		return null;
	}
	const dot = value.lastIndexOf(".");
	const signed = value.slice(0, dot);
	const signature = value.slice(dot + 1);
	if (dot < 0 || signature.length !== 44) return null;
	const colon = signed.indexOf(":");
	const keyId = colon < 0 ? null : signed.slice(0, colon);
	const id = colon < 0 ? signed : signed.slice(colon + 1);
	if (!COOKIE_VALUE.test(id)) return null;
	let binary: string;
	try {
		binary = atob(signature);
	} catch {
		return null;
	}
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	// A cookie names its key; one from before key ids is tried against each.
	const candidates =
		keyId === null ? keys.all : [keys.byId.get(keyId)].filter((k) => k !== undefined);
	for (const key of candidates) {
		if (await hmacVerify(key.secret, bytes, signed)) return { id, keyId: key.id };
	}
	return null;
}

function cookieValue(header: string | null, name: string): string | null {
	if (!header) return null;
	const prefix = `${name}=`;
	for (const part of header.split(";")) {
		const trimmed = part.trim();
		if (trimmed.startsWith(prefix)) return trimmed.slice(prefix.length).replace(/^"(.*)"$/, "$1");
	}
	return null;
}

/** The Set-Cookie value for a unit, signed with the current key. `Secure` on https only (local dev is http). */
export function unitCookie(id: string, keys: SigningKeys, secure: boolean): Promise<string> {
	return generateSignedCookie(UNIT_COOKIE, `${keys.current.id}:${id}`, keys.current.secret, {
		path: "/",
		httpOnly: true,
		secure,
		sameSite: "Lax",
		maxAge: MAX_AGE_SECONDS,
	});
}
