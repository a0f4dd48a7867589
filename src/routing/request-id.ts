/**
 * Signed request ids. Every prediction gets one in `x-request-id`; it names
 * the deployment, the variant the unit was assigned, how the answer came
 * about, the time and a tag of the unit, and carries an HMAC, so
 * `POST /v1/feedback` can attribute an outcome without storing anything per
 * request, and nobody can forge feedback for requests that never happened.
 *
 * Format (version 2): `v2.<deployment>.<key id>.<variant><flags>.<time>.<unit>.<nonce>.<mac>`
 *   variant = a (champion) or b (candidate), the ASSIGNED one (intention to
 *   treat: a fallback answered by the champion is still the candidate's
 *   request); flags, in this order, any of f (the candidate failed and the
 *   champion answered), d (an open breaker sent it to the champion), q (pinned
 *   by a QA override: never analysed), x (no answer: the client got an
 *   error, so there is nothing to give feedback on); time = Unix ms in base 36; unit = 8 hex
 *   digits of a hash of the unit (one unit's feedback can be bounded without
 *   revealing who it is); nonce = 8 hex digits; key id = the signing key's id
 *   (rotation, see lib/keys.ts); mac = HMAC-SHA-256(key, DOMAIN + everything
 *   before ".<mac>"), first 16 bytes, base64url.
 */

import { hmacSign } from "../lib/hmac";
import type { SigningKeys } from "../lib/keys";
import type { Variant } from "./assign";
import { murmur3 } from "./hash";

const DOMAIN = "switchyard-request-id\n";
const PATTERN =
	/^v2\.([a-z0-9][a-z0-9-]{0,62})\.([0-9a-z]{6})\.([ab])(f?)(d?)(q?)(x?)\.([0-9a-z]{1,11})\.([0-9a-f]{8})\.([0-9a-f]{8})\.([A-Za-z0-9_-]{22})$/;

export interface RequestIdClaims {
	deployment: string;
	/** The variant the unit was assigned. */
	assigned: Variant;
	/** The candidate failed and the champion answered. */
	fallback: boolean;
	/** An open breaker sent the candidate's unit to the champion. */
	diverted: boolean;
	/** Pinned by a QA override: kept out of every analysis. */
	pinned: boolean;
	/** The client got an error, not an answer: no feedback can be about it. */
	failed: boolean;
	/** Unix time in milliseconds. */
	time: number;
	/** 8 hex digits identifying the unit (not reversible to it). */
	unit: string;
}

/** The unit's tag in request ids. */
export function unitTag(unit: string): string {
	return murmur3(`switchyard-unit:${unit}`).toString(16).padStart(8, "0");
}

async function mac(secret: string, body: string): Promise<string> {
	const signature = await hmacSign(secret, DOMAIN + body);
	return base64url(new Uint8Array(signature, 0, 16));
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding, by table (no btoa, no regular expressions: the hot path). */
function base64url(bytes: Uint8Array): string {
	let out = "";
	let i = 0;
	for (; i + 2 < bytes.length; i += 3) {
		const n =
			((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
		out +=
			ALPHABET.charAt((n >>> 18) & 63) +
			ALPHABET.charAt((n >>> 12) & 63) +
			ALPHABET.charAt((n >>> 6) & 63) +
			ALPHABET.charAt(n & 63);
	}
	if (i < bytes.length) {
		const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] ?? 0) << 8);
		out += ALPHABET.charAt((n >>> 18) & 63) + ALPHABET.charAt((n >>> 12) & 63);
		if (i + 1 < bytes.length) out += ALPHABET.charAt((n >>> 6) & 63);
	}
	return out;
}

/**
 * Nonces: a random start per isolate, then a counter. Ids also carry the
 * time and the unit; the nonce only has to tell apart one unit's requests in
 * one millisecond, and needs no randomness per request.
 */
let nonceCounter: number | undefined;

function nonce(): string {
	// Drawn on first use: random values may not be generated in the global scope.
	nonceCounter ??= crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
	nonceCounter = (nonceCounter + 1) >>> 0;
	return nonceCounter.toString(16).padStart(8, "0");
}

/** Mints a signed request id with the current key. */
export async function signRequestId(keys: SigningKeys, claims: RequestIdClaims): Promise<string> {
	const flags = `${claims.fallback ? "f" : ""}${claims.diverted ? "d" : ""}${claims.pinned ? "q" : ""}${claims.failed ? "x" : ""}`;
	const variant = claims.assigned === "candidate" ? "b" : "a";
	const body = `v2.${claims.deployment}.${keys.current.id}.${variant}${flags}.${claims.time.toString(36)}.${claims.unit}.${nonce()}`;
	return `${body}.${await mac(keys.current.secret, body)}`;
}

/** The claims of a genuine request id, or null for a malformed, forged or retired-key one. */
export async function verifyRequestId(
	keys: SigningKeys,
	id: string,
): Promise<RequestIdClaims | null> {
	const match = PATTERN.exec(id);
	if (!match) return null;
	const [, deployment, kid, variant, f, d, q, x, time, unit, , given] =
		match as unknown as string[];
	const key = keys.byId.get(kid ?? "");
	if (!key || given === undefined) return null;
	const body = id.slice(0, id.length - given.length - 1);
	if (!constantTimeEqual(await mac(key.secret, body), given)) return null;
	return {
		deployment: deployment ?? "",
		assigned: variant === "b" ? "candidate" : "champion",
		fallback: f === "f",
		diverted: d === "d",
		pinned: q === "q",
		failed: x === "x",
		time: Number.parseInt(time ?? "", 36),
		unit: unit ?? "",
	};
}

function constantTimeEqual(a: string, b: string): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
	return diff === 0;
}
