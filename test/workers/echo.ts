/**
 * A test backend that answers with what it received, to check forwarding;
 * with the status a request's `x-echo-status` header asks for, and a
 * declared Content-Length when `x-echo-length` is sent (as HTTP servers
 * declare it; a service binding's answer has none by itself).
 */
export default {
	async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		const text = JSON.stringify({
			method: request.method,
			path: url.pathname,
			search: url.search,
			headers: Object.fromEntries(request.headers),
			body: await request.text(),
		});
		const length: Record<string, string> = request.headers.has("x-echo-length")
			? { "content-length": String(new TextEncoder().encode(text).byteLength) }
			: {};
		return new Response(text, {
			status: Number(request.headers.get("x-echo-status") ?? 200),
			headers: {
				"content-type": "application/json",
				...length,
				"x-echo": "1",
				"set-cookie": "backend=1; Path=/",
				// A backend claiming Switchyard's own headers.
				"x-switchyard-fallback": "forged",
				"x-switchyard-anything": "forged",
			},
		});
	},
} satisfies ExportedHandler;
