/**
 * The unit of assignment: a random id in a signed cookie (hono's signed
 * cookies, HMAC-SHA-256 with SIGNING_KEY), or a request header named in the
 * spec. A missing, malformed or forged cookie makes a new visitor, never an
 * error.
 */
import type { Context } from "hono";
import { generateSignedCookie, getSignedCookie } from "hono/cookie";
import type { Assignment } from "../config/spec";

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
	const cookie = await getSignedCookie(c, secret, UNIT_COOKIE);
	if (typeof cookie === "string" && COOKIE_VALUE.test(cookie)) return { id: cookie, fresh: false };
	return { id: crypto.randomUUID(), fresh: true };
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
