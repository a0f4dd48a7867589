/**
 * The backend of the adapters' conformance suite, for every HTTP-speaking
 * kind: the same handler answers as a service-bound worker (workerd) and
 * behind a local HTTP server for `url` backends (test/setup/http-backend.ts).
 * It answers with what it received (method, path, query, headers, body),
 * with the status `x-stub-status` asks for and a header of its own;
 * `x-stub-hang` holds the answer's headers until the caller gives up;
 * `x-stub-throw` fails the request inside the backend.
 */
export async function answer(request: Request): Promise<Response> {
	if (request.headers.has("x-stub-throw")) throw new Error("the stub backend failed");
	if (request.headers.has("x-stub-hang")) {
		// Until the caller goes away (or, as a bound on a stuck test, a minute).
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, 60_000);
			request.signal.addEventListener("abort", () => {
				clearTimeout(timer);
				resolve();
			});
		});
	}
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
			status: Number(request.headers.get("x-stub-status") ?? 200),
			headers: { "x-stub": "conformance" },
		},
	);
}

export default { fetch: answer } satisfies ExportedHandler;
