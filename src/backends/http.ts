/**
 * What the HTTP-speaking kinds (`url`, `service`) share: the backend's
 * credential, read from a worker secret at call time (the spec names the
 * secret, never holds it; config/spec.ts refuses Switchyard's own), and the
 * outgoing request, where that credential replaces whatever the client sent
 * in its header.
 */
import type { Backend } from "../config/spec";
import type { ConfigurationError, ForwardInit } from "./types";

/** A header the backend's credential goes in, and its value. */
export interface Credential {
	header: string;
	value: string;
}

/**
 * The backend's credential from its secret; undefined when it has none, a
 * configuration error when the secret is not set.
 */
export function credentialOf(
	backend: Backend,
	env: object,
): Credential | ConfigurationError | undefined {
	const auth = backend.auth;
	if (auth === undefined) return undefined;
	const secret: unknown = Reflect.get(env, auth.secret);
	if (typeof secret !== "string" || secret === "")
		return { error: `secret ${auth.secret} is not configured` };
	const scheme = auth.scheme ?? (auth.header === "authorization" ? "Bearer" : "");
	return { header: auth.header, value: scheme ? `${scheme} ${secret}` : secret };
}

/** The request for `fetch`: redirects are the client's to follow, `signal` is the timeout. */
export function requestInit(
	init: ForwardInit,
	credential: Credential | undefined,
	signal: AbortSignal,
): RequestInit {
	let headers = init.headers;
	if (credential) {
		// The client's value of that header never reaches this backend: the edge's does.
		headers = new Headers(init.headers);
		headers.set(credential.header, credential.value);
	}
	return { method: init.method, headers, body: init.body, redirect: "manual", signal };
}
