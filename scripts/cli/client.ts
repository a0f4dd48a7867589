/** A small client for the admin API, configured by SWITCHYARD_URL and SWITCHYARD_TOKEN. */

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
	}
}

export interface ClientOptions {
	url: string;
	token: string;
	fetch?: typeof fetch;
}

export function createClient(options: ClientOptions) {
	const base = options.url.replace(/\/+$/, "");
	const doFetch = options.fetch ?? fetch;

	async function request(method: string, path: string, body?: unknown): Promise<Response> {
		let response: Response;
		try {
			response = await doFetch(`${base}/admin/api${path}`, {
				method,
				headers: {
					authorization: `Bearer ${options.token}`,
					...(body === undefined ? {} : { "content-type": "application/json" }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
			});
		} catch (error) {
			throw new ApiError(0, "unreachable", `cannot reach ${base}: ${(error as Error).message}`);
		}
		if (!response.ok) {
			const text = await response.text();
			let envelope: { error?: { code?: string; message?: string; details?: unknown } } = {};
			try {
				envelope = JSON.parse(text);
			} catch {
				// not JSON: keep the text
			}
			throw new ApiError(
				response.status,
				envelope.error?.code ?? `http_${response.status}`,
				envelope.error?.message ?? (text.slice(0, 200) || response.statusText),
				envelope.error?.details,
			);
		}
		return response;
	}

	return {
		base,
		json: async <T>(method: string, path: string, body?: unknown): Promise<T> =>
			(await (await request(method, path, body)).json()) as T,
		text: async (method: string, path: string): Promise<string> =>
			(await request(method, path)).text(),
	};
}

export type Client = ReturnType<typeof createClient>;
