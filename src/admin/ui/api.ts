/**
 * The dashboard's admin API client: the shared typed client
 * (`createAdminClient`, hono's `hc<AdminApi>`, the CLI's too) with the
 * session's token, so every response is typed from the routes, never cast.
 *
 * Safety: a deployment's path parameter is only ever a name that matches the
 * name rule AND is in the list the API returned ({@link deploymentParam});
 * and every request is checked to go to this origin's `/admin/api/` before
 * it leaves, so a crafted link cannot make the page send the token anywhere
 * else.
 */
import { type AdminClient, type Answer, ApiError, createAdminClient } from "../client";
import { isKnown, token } from "./session";

const API_PATH = "/admin/api/";

/** Raised after a 401, once the login form is showing. */
export class Unauthorized extends Error {
	constructor() {
		super("unauthorized");
	}
}

/** fetch, for this origin's admin API only. */
async function adminFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
	const url = new URL(input instanceof Request ? input.url : String(input), location.origin);
	if (url.origin !== location.origin || !url.pathname.startsWith(API_PATH))
		throw new Error("bad path");
	return fetch(url, init);
}

export interface DashboardClient {
	api: AdminClient["api"];
	/** The 2xx response, or an error with the API's message ({@link Unauthorized} after a 401). */
	call<R extends Answer>(request: Promise<R>): Promise<R>;
}

/** The client; `onUnauthorized` shows the login form when the API refuses the token. */
export function dashboardClient(onUnauthorized: () => void): DashboardClient {
	const { api, ok } = createAdminClient(`${location.origin}/admin/api`, {
		token,
		fetch: adminFetch,
	});
	return {
		api,
		async call(request) {
			try {
				return await ok(request);
			} catch (error) {
				if (error instanceof ApiError && error.status === 401) {
					onUnauthorized();
					throw new Unauthorized();
				}
				throw error;
			}
		},
	};
}

/** The path parameter of a deployment: only a valid name the API listed. */
export function deploymentParam(name: string | null): { name: string } {
	if (!isKnown(name)) throw new Error("unknown deployment");
	return { name: encodeURIComponent(name) };
}
