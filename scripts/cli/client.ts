/**
 * The admin API client: hono's typed client over the API's own type
 * (`hc<AdminApi>`), so every request and response is typed from the routes
 * themselves, never cast. Configured by SWITCHYARD_URL and SWITCHYARD_TOKEN.
 */
import { hc, type InferResponseType } from "hono/client";
import type { AdminApi } from "../../src/admin/api";

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

/** The error envelope `{"error": {"code", "message", "details"?}}`, or the text of anything else. */
/** What the client needs of a response to judge it (hono's ClientResponse has it). */
interface Answer {
	ok: boolean;
	status: number;
	statusText: string;
	text(): Promise<string>;
}

async function errorOf(response: Answer): Promise<ApiError> {
	const text = await response.text();
	let envelope: { error?: { code?: unknown; message?: unknown; details?: unknown } } = {};
	try {
		const parsed: unknown = JSON.parse(text);
		if (parsed && typeof parsed === "object") envelope = parsed;
	} catch {
		// not JSON: keep the text
	}
	const code = envelope.error?.code;
	const message = envelope.error?.message;
	return new ApiError(
		response.status,
		typeof code === "string" ? code : `http_${response.status}`,
		typeof message === "string" ? message : text.slice(0, 200) || response.statusText,
		envelope.error?.details,
	);
}

export function createClient(options: ClientOptions) {
	const base = options.url.replace(/\/+$/, "");
	const doFetch = options.fetch ?? fetch;
	const api = hc<AdminApi>(`${base}/admin/api`, {
		headers: { authorization: `Bearer ${options.token}` },
		fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
			try {
				return await doFetch(input, init);
			} catch (error) {
				throw new ApiError(0, "unreachable", `cannot reach ${base}: ${(error as Error).message}`);
			}
		},
	});
	/** The response itself when it is 2xx, else the API's error. */
	async function ok<R extends Answer>(call: Promise<R>): Promise<R> {
		const response = await call;
		if (!response.ok) throw await errorOf(response);
		return response;
	}
	return { base, api, ok };
}

export type Client = ReturnType<typeof createClient>;

type Api = ReturnType<typeof hc<AdminApi>>;
/** `GET /admin/api/deployments/:name` as the client receives it. */
export type DeploymentDetail = InferResponseType<Api["deployments"][":name"]["$get"], 200>;
/** The analysis report as it crosses the wire. */
export type WireReport = NonNullable<DeploymentDetail["analysis"]>;
