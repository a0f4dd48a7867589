/**
 * The unit of assignment: a random id in a signed cookie, or a request header
 * named in the spec. A missing, malformed or forged cookie makes a new
 * visitor, never an error.
 *
 * The cookie is hono's signed cookie (value + "." + base64 HMAC-SHA-256 with
 * SIGNING_KEY, URI-encoded), set with hono's generateSignedCookie. It is
 * verified here with an HMAC key imported once per isolate instead of hono's
 * getSignedCookie, which imports the key on every call; the format is pinned
 * by a test that verifies cookies hono generated.
 */
import type { Context } from "hono";
import { generateSignedCookie } from "hono/cookie";
import type { Assignment } from "../config/spec";
import { hmacVerify } from "../lib/hmac";

export const UNIT_COOKIE = "sy_uid";
/** 400 days, the longest lifetime browsers honour. */
const MAX_AGE_SECONDS = 400 * 24 * 60 * 60;
const COOKIE_VALUE = /^[A-Za-z0-9-]{16,64}$/;
const MAX_HEADER_UNIT = 256;

export interface Unit {
	id: string;
	/** A new visitor: the response must set the cookie. */
	fresh: boolean;
}

export async function unitOf(c: Context, assignment: Assignment, secret: string): Promise<Unit> {
	if (assignment.unit === "header") {
		const value = c.req.header(assignment.header);
		if (value && value.length <= MAX_HEADER_UNIT) return { id: value, fresh: false };
	}
	const id = await verifiedUnitCookie(c.req.raw.headers.get("cookie"), secret);
	return id ? { id, fresh: false } : { id: crypto.randomUUID(), fresh: true };
}

/**
 * Cookie values this isolate has already verified, so a returning visitor
 * costs no HMAC. Bounded (oldest out first) and emptied when the signing key
 * changes.
 */
const verified = new Map<string, string>();
const VERIFIED_LIMIT = 4096;
let verifiedWith = "";

/** The unit id in a genuine `sy_uid` cookie, or null. */
export async function verifiedUnitCookie(
	cookieHeader: string | null,
	secret: string,
): Promise<string | null> {
	const raw = cookieValue(cookieHeader, UNIT_COOKIE);
	if (raw === null) return null;
	if (secret !== verifiedWith) {
		verified.clear();
		verifiedWith = secret;
	}
	const known = verified.get(raw);
	if (known !== undefined) return known;
	const id = await verifyCookieValue(raw, secret);
	if (id !== null) {
		if (verified.size >= VERIFIED_LIMIT) verified.delete(verified.keys().next().value as string);
		verified.set(raw, id);
	}
	return id;
}

async function verifyCookieValue(raw: string, secret: string): Promise<string | null> {
	let value: string;
	try {
		value = decodeURIComponent(raw);
	} catch {
		return null;
	}
	const dot = value.lastIndexOf(".");
	const id = value.slice(0, dot);
	const signature = value.slice(dot + 1);
	if (dot < 0 || signature.length !== 44 || !COOKIE_VALUE.test(id)) return null;
	let binary: string;
	try {
		binary = atob(signature);
	} catch {
		return null;
	}
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return (await hmacVerify(secret, bytes, id)) ? id : null;
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

/** The Set-Cookie value for a new visitor. `Secure` on https only (local dev is http). */
export function unitCookie(id: string, secret: string, secure: boolean): Promise<string> {
	return generateSignedCookie(UNIT_COOKIE, id, secret, {
		path: "/",
		httpOnly: true,
		secure,
		sameSite: "Lax",
		maxAge: MAX_AGE_SECONDS,
	});
}
