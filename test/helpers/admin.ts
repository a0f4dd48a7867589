/** Calls the admin API of the worker under test. */
import { exports } from "cloudflare:workers";
import { ADMIN_AUTH, ORIGIN } from "./edge";

export async function admin(
	method: string,
	path: string,
	body?: unknown,
	headers: Record<string, string> = ADMIN_AUTH,
): Promise<Response> {
	return exports.default.fetch(`${ORIGIN}/admin/api${path}`, {
		method,
		headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

export async function adminJson<T = Record<string, unknown>>(
	method: string,
	path: string,
	body?: unknown,
): Promise<{ status: number; body: T }> {
	const res = await admin(method, path, body);
	return { status: res.status, body: (await res.json()) as T };
}
