/**
 * Signed request ids. Every prediction gets one in `x-request-id`; it names
 * the deployment, the variant that served and the time, and carries an HMAC
 * so `POST /v1/feedback` can attribute an outcome without storing anything
 * per request, and nobody can forge feedback for requests that never happened.
 *
 * Format (version 1): `v1.<deployment>.<a|b>.<time>.<nonce>.<mac>`
 *   a = champion, b = candidate; time = Unix ms in base 36; nonce = 8 hex
 *   digits; mac = HMAC-SHA-256(SIGNING_KEY, "switchyard-request-id\n" +
 *   everything before ".<mac>"), first 16 bytes, base64url.
 */
import { hmacSign } from "../lib/hmac";
import type { Variant } from "./assign";

const PREFIX = "v1";
const DOMAIN = "switchyard-request-id\n";
const PATTERN =
	/^v1\.([a-z0-9][a-z0-9-]{0,62})\.([ab])\.([0-9a-z]{1,11})\.([0-9a-f]{8})\.([A-Za-z0-9_-]{22})$/;
export interface RequestIdClaims {
	deployment: string;
	variant: Variant;
	/** Unix time in milliseconds. */
	time: number;
}

async function mac(secret: string, body: string): Promise<string> {
	const signature = await hmacSign(secret, DOMAIN + body);
	return base64url(new Uint8Array(signature, 0, 16));
}

function base64url(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function nonce(): string {
	const value = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
	return value.toString(16).padStart(8, "0");
}

/** Mints a signed request id. */
export async function signRequestId(secret: string, claims: RequestIdClaims): Promise<string> {
	const variant = claims.variant === "candidate" ? "b" : "a";
	const body = `${PREFIX}.${claims.deployment}.${variant}.${claims.time.toString(36)}.${nonce()}`;
	return `${body}.${await mac(secret, body)}`;
}

/** The claims of a genuine request id, or null for a malformed or forged one. */
export async function verifyRequestId(secret: string, id: string): Promise<RequestIdClaims | null> {
	const match = PATTERN.exec(id);
	if (!match) return null;
	const [, deployment, variant, time, , given] = match as unknown as [
		string,
		string,
		string,
		string,
		string,
		string,
	];
	const body = id.slice(0, id.length - given.length - 1);
	const expected = await mac(secret, body);
	if (!constantTimeEqual(expected, given)) return null;
	return {
		deployment,
		variant: variant === "b" ? "candidate" : "champion",
		time: Number.parseInt(time, 36),
	};
}

function constantTimeEqual(a: string, b: string): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
	return diff === 0;
}
