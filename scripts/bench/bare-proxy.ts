/**
 * The limit: a bare pass-through worker forwarding every request to the same
 * stub backend as Switchyard, over the service binding or, when STUB_URL is
 * set, over HTTP to that base URL.
 */
interface BareEnv {
	STUB: Fetcher;
	STUB_URL?: string;
}

export default {
	fetch(request: Request, env: BareEnv): Promise<Response> {
		if (!env.STUB_URL) return env.STUB.fetch(request);
		const url = new URL(request.url);
		return fetch(`${env.STUB_URL}${url.pathname}${url.search}`, request);
	},
} satisfies ExportedHandler<BareEnv>;
