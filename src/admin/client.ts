/**
 * The admin API's client, shared by the CLI and the dashboard: hono's typed
 * client over the API's own type (`hc<AdminApi>`), so every request and
 * response is typed from the routes themselves, never cast. Errors arrive
 * as {@link ApiError}, read from the one error envelope.
 *
 * No platform and no DOM: it needs only `fetch`, so it runs in Node (the
 * CLI) and in the browser (the dashboard, bundled into its script).
 *
 * @example
 * const { api, ok } = createAdminClient("https://edge.example.com/admin/api", { token: "…" });
 * const { deployments } = await (await ok(api.deployments.$get())).json();
 */
import { hc, type InferResponseType } from "hono/client";
import type { AdminApi } from "./api";

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

/** What the client needs of a response to judge it (hono's ClientResponse has it). */
export interface Answer {
	ok: boolean;
	status: number;
	statusText: string;
	text(): Promise<string>;
}

/** The error envelope `{"error": {"code", "message", "details"?}}`, or the text of anything else. */
export async function errorOf(response: Answer): Promise<ApiError> {
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

export interface AdminClientOptions {
	/** The bearer token, or a function read at every request (the dashboard's session). */
	token: string | (() => string);
	fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
}

/** The typed client at `apiBase` (the URL of `/admin/api`) and `ok`, which turns non-2xx into errors. */
export function createAdminClient(apiBase: string, options: AdminClientOptions) {
	const token = options.token;
	const api = hc<AdminApi>(apiBase, {
		headers: () => ({
			authorization: `Bearer ${typeof token === "function" ? token() : token}`,
		}),
		...(options.fetch ? { fetch: options.fetch } : {}),
	});
	/** The response itself when it is 2xx, else the API's error. */
	async function ok<R extends Answer>(call: Promise<R>): Promise<R> {
		const response = await call;
		if (!response.ok) throw await errorOf(response);
		return response;
	}
	return { api, ok };
}

export type AdminClient = ReturnType<typeof createAdminClient>;

type Api = AdminClient["api"];
/** `GET /admin/api/deployments` as the client receives it. */
export type DeploymentList = InferResponseType<Api["deployments"]["$get"], 200>;
/** `GET /admin/api/deployments/:name` as the client receives it. */
export type DeploymentDetail = InferResponseType<Api["deployments"][":name"]["$get"], 200>;
/** The analysis report as it crosses the wire. */
export type WireReport = NonNullable<DeploymentDetail["analysis"]>;
/** `GET /admin/api/deployments/:name/history` as the client receives it. */
export type HistoryPage = InferResponseType<Api["deployments"][":name"]["history"]["$get"], 200>;
/** `GET /admin/api/deployments/:name/metrics` as JSON (the default format) as the client receives it. */
export type MetricsPage = Awaited<
	ReturnType<Awaited<ReturnType<Api["deployments"][":name"]["metrics"]["$get"]>>["json"]>
>;
