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

export interface ForwardHeaderOptions {
	/** Switchyard's cookie, removed from the Cookie header. */
	cookieName: string;
	/** Drop Authorization (it carried the admin token for a QA override). */
	dropAuthorization: boolean;
}

export function forwardHeaders(incoming: Headers, options: ForwardHeaderOptions): Headers {
	const headers = new Headers(incoming);
	const listed = headers.get("connection");
	if (listed) {
		for (const name of listed.split(",")) headers.delete(name.trim());
	}
	for (const name of HOP_BY_HOP) headers.delete(name);
	headers.delete("host");
	headers.delete("content-length");
	headers.delete(VARIANT_OVERRIDE_HEADER);
	if (options.dropAuthorization) headers.delete("authorization");
	const cookie = headers.get("cookie");
	if (cookie) {
		const kept = withoutCookie(cookie, options.cookieName);
		if (kept) headers.set("cookie", kept);
		else headers.delete("cookie");
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

/** Response headers from a backend, minus hop-by-hop ones. */
export function responseHeaders(incoming: Headers): Headers {
	const headers = new Headers(incoming);
	for (const name of HOP_BY_HOP) headers.delete(name);
	return headers;
}
