/**
 * Which request headers reach a model backend: the end-to-end ones, in one
 * pass over what arrived. Dropped: hop-by-hop headers (RFC 9110 §7.6.1, plus
 * any named in Connection), those fetch recomputes (host, content-length),
 * Switchyard's own control headers and cookie, the client's own
 * `forwarded` / `x-forwarded-*` claims (replaced from what the edge knows),
 * and any header whose value carries a secret (the admin token, the feedback
 * token), whatever its name. `Authorization` meant for the model passes
 * through untouched: model APIs need it.
 */

const HOP_BY_HOP = [
	"connection",
	"keep-alive",
	"proxy-authenticate",
	"proxy-authorization",
	"proxy-connection",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
];

/** Pins a request to a variant (QA), with {@link QA_TOKEN_HEADER}. */
export const VARIANT_OVERRIDE_HEADER = "x-switchyard-variant";
/** Carries the admin token for a QA override; never forwarded. */
export const QA_TOKEN_HEADER = "x-switchyard-token";

/** Client claims about the path to the edge: the edge states its own. */
const FORWARDING = [
	"forwarded",
	"x-forwarded-for",
	"x-forwarded-host",
	"x-forwarded-proto",
	"x-real-ip",
];

/** Never forwarded. */
const DROPPED = new Set([
	...HOP_BY_HOP,
	...FORWARDING,
	"host",
	"content-length",
	VARIANT_OVERRIDE_HEADER,
	QA_TOKEN_HEADER,
]);

export interface ForwardHeaderOptions {
	/** Switchyard's cookie, removed from the Cookie header. */
	cookieName: string;
	/** Values that must never reach a backend; a header containing one is dropped. */
	secrets: readonly string[];
	/** What the edge knows about the client and itself. */
	forwarded: { clientIp: string | null; proto: "http" | "https"; host: string };
}

export function forwardHeaders(incoming: Headers, options: ForwardHeaderOptions): Headers {
	const listed = incoming.get("connection");
	const dropped = listed
		? new Set(listed.split(",").map((name) => name.trim().toLowerCase()))
		: null;
	const headers = new Headers();
	const shortest = shortestSecret(options.secrets);
	incoming.forEach((value, name) => {
		if (DROPPED.has(name) || dropped?.has(name)) return;
		if (value.length >= shortest && carriesSecret(value, options.secrets)) return;
		if (name === "cookie") {
			const kept = value.includes(`${options.cookieName}=`)
				? withoutCookie(value, options.cookieName)
				: value;
			if (kept) headers.append(name, kept);
			return;
		}
		headers.append(name, value);
	});
	const { clientIp, proto, host } = options.forwarded;
	if (clientIp) headers.set("x-forwarded-for", clientIp);
	headers.set("x-forwarded-proto", proto);
	headers.set("x-forwarded-host", host);
	return headers;
}

function shortestSecret(secrets: readonly string[]): number {
	let shortest = Number.POSITIVE_INFINITY;
	for (const secret of secrets)
		if (secret.length > 0 && secret.length < shortest) shortest = secret.length;
	return shortest;
}

function carriesSecret(value: string, secrets: readonly string[]): boolean {
	for (const secret of secrets) if (secret.length > 0 && value.includes(secret)) return true;
	return false;
}

/** A Cookie header without the cookie called `name`. */
export function withoutCookie(cookieHeader: string, name: string): string {
	return cookieHeader
		.split(";")
		.map((pair) => pair.trim())
		.filter((pair) => pair !== "" && pair.split("=", 1)[0]?.trim() !== name)
		.join("; ");
}
