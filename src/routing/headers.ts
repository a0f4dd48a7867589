/**
 * Which request headers reach a model backend: the end-to-end ones. Hop-by-hop
 * headers (RFC 9110 §7.6.1, plus any named in Connection), Switchyard's own
 * cookie and control headers, and an admin token used for a QA override stay
 * at the edge.
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

/** Headers Switchyard consumes and never forwards. */
export const VARIANT_OVERRIDE_HEADER = "x-switchyard-variant";

/** Never forwarded: hop-by-hop, recomputed by fetch (host, content-length), or Switchyard's own. */
const DROPPED = new Set([...HOP_BY_HOP, "host", "content-length", VARIANT_OVERRIDE_HEADER]);

export interface ForwardHeaderOptions {
	/** Switchyard's cookie, removed from the Cookie header. */
	cookieName: string;
	/** Drop Authorization (it carried the admin token for a QA override). */
	dropAuthorization: boolean;
}

export function forwardHeaders(incoming: Headers, options: ForwardHeaderOptions): Headers {
	// One pass over what arrived (a handful of headers) instead of deleting every
	// name that might be there: the hot path runs this for every prediction.
	const listed = incoming.get("connection");
	const dropped = listed
		? new Set(listed.split(",").map((name) => name.trim().toLowerCase()))
		: null;
	const headers = new Headers();
	for (const [name, value] of incoming) {
		if (DROPPED.has(name) || dropped?.has(name)) continue;
		if (name === "authorization" && options.dropAuthorization) continue;
		if (name === "cookie") {
			const kept = value.includes(`${options.cookieName}=`)
				? withoutCookie(value, options.cookieName)
				: value;
			if (kept) headers.append(name, kept);
			continue;
		}
		headers.append(name, value);
	}
	return headers;
}

/** A Cookie header without the cookie called `name`. */
export function withoutCookie(cookieHeader: string, name: string): string {
	return cookieHeader
		.split(";")
		.map((pair) => pair.trim())
		.filter((pair) => pair !== "" && pair.split("=", 1)[0]?.trim() !== name)
		.join("; ");
}
