/**
 * HMAC-SHA-256 keys imported once per isolate and secret. Importing a key per
 * request (as hono's signed-cookie helpers do) was the largest single cost on
 * the prediction path in `npm run bench`'s profile.
 */
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

export function hmacKey(secret: string): Promise<CryptoKey> {
	let key = keys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey(
			"raw",
			encoder.encode(secret),
			{ name: "HMAC", hash: "SHA-256" },
			false,
			["sign", "verify"],
		);
		keys.set(secret, key);
	}
	return key;
}

export async function hmacSign(secret: string, message: string): Promise<ArrayBuffer> {
	return crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message));
}

export async function hmacVerify(
	secret: string,
	signature: BufferSource,
	message: string,
): Promise<boolean> {
	return crypto.subtle.verify("HMAC", await hmacKey(secret), signature, encoder.encode(message));
}
