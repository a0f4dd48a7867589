/**
 * The CLI's admin API client: the shared typed client (src/admin/client.ts,
 * `hc<AdminApi>`) at SWITCHYARD_URL with SWITCHYARD_TOKEN, and an
 * unreachable edge reported as an {@link ApiError} like any other failure.
 */
import { ApiError, createAdminClient } from "../../src/admin/client";

export type { DeploymentDetail, WireReport } from "../../src/admin/client";
export { ApiError };

export interface ClientOptions {
	url: string;
	token: string;
	fetch?: typeof fetch;
}

export function createClient(options: ClientOptions) {
	const base = options.url.replace(/\/+$/, "");
	const doFetch = options.fetch ?? fetch;
	const { api, ok } = createAdminClient(`${base}/admin/api`, {
		token: options.token,
		fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
			try {
				return await doFetch(input, init);
			} catch (error) {
				throw new ApiError(0, "unreachable", `cannot reach ${base}: ${(error as Error).message}`);
			}
		},
	});
	return { base, api, ok };
}

export type Client = ReturnType<typeof createClient>;
