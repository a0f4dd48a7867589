/**
 * A test backend that answers with what it received, to check forwarding;
 * with the status a request's `x-echo-status` header asks for.
 */
export default {
	async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		return Response.json(
			{
				method: request.method,
				path: url.pathname,
				search: url.search,
				headers: Object.fromEntries(request.headers),
				body: await request.text(),
			},
			{
				status: Number(request.headers.get("x-echo-status") ?? 200),
				headers: {
					"x-echo": "1",
					"set-cookie": "backend=1; Path=/",
					// A backend claiming Switchyard's own headers.
					"x-switchyard-fallback": "forged",
					"x-switchyard-anything": "forged",
				},
			},
		);
	},
} satisfies ExportedHandler;
