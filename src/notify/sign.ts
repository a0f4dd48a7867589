/**
 * Webhook signatures: `x-switchyard-signature: sha256=<hex>`, the
 * HMAC-SHA-256 of the raw body with the WEBHOOK_SECRET secret. Receivers
 * recompute it over the bytes they got and compare in constant time.
 */
import { hmacSign } from "../lib/hmac";

export const SIGNATURE_HEADER = "x-switchyard-signature";

export async function signature(secret: string, body: string): Promise<string> {
	const mac = new Uint8Array(await hmacSign(secret, body));
	return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
