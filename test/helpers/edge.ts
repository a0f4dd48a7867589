/**
 * Helpers for integration tests that drive the real worker in workerd:
 * write specs and states to the real local KV, send predictions as visitors
 * with cookie jars.
 */
import { env, exports } from "cloudflare:workers";
import { updateIndex } from "../../src/config/kv";
import type { DeploymentSpecInput } from "../../src/config/spec";
import type { KvRolloutStateInput } from "../../src/config/state";
import { TEST_ADMIN_TOKEN } from "./secrets";

export const ORIGIN = "http://switchyard.test";
export const ADMIN_AUTH = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

let counter = 0;
/** A deployment name unique within the test file (KV is shared by a file's tests). */
export function uniqueName(prefix: string): string {
	counter += 1;
	return `${prefix}-${counter}`;
}

export function spec(
	name: string,
	overrides: Partial<DeploymentSpecInput> = {},
): DeploymentSpecInput {
	return {
		name,
		strategy: "ab",
		champion: { version: "v1", service: "MODEL_V1" },
		candidate: { version: "v2", service: "MODEL_V2" },
		...overrides,
	};
}

const written = new Map<string, number | undefined>();

/** The deployments this file wrote with putSpec, with their shard counts (undefined: the default). */
export function writtenDeployments(): ReadonlyMap<string, number | undefined> {
	return written;
}

/** Writes a spec by hand, as `wrangler kv key put` would, and lists the name in the index as the cron would. */
export async function putSpec(value: DeploymentSpecInput): Promise<void> {
	written.set(value.name, value.ingest?.shards);
	await env.CONFIG.put(`deployment:${value.name}`, JSON.stringify(value));
	await updateIndex(env.CONFIG, value.name, true);
}

export async function putState(name: string, state: KvRolloutStateInput): Promise<void> {
	await env.CONFIG.put(`state:${name}`, JSON.stringify(state));
}

/** Creates a deployment running at `weight` percent on the candidate. */
export async function deploy(
	name: string,
	weight: number,
	overrides: Partial<DeploymentSpecInput> = {},
	status: KvRolloutStateInput["status"] = "running",
): Promise<void> {
	await putSpec(spec(name, overrides));
	await putState(name, { status, weight });
}

export interface PredictOptions {
	text?: string;
	body?: BodyInit;
	method?: string;
	path?: string;
	headers?: Record<string, string>;
}

export function predict(name: string, options: PredictOptions = {}): Promise<Response> {
	const method = options.method ?? "POST";
	const body =
		method === "GET" || method === "HEAD"
			? undefined
			: (options.body ?? JSON.stringify({ text: options.text ?? "a great day" }));
	return exports.default.fetch(`${ORIGIN}/v1/models/${name}${options.path ?? "/predict"}`, {
		method,
		headers: { "content-type": "application/json", ...options.headers },
		body,
	});
}

/** The unit cookie a response sets, as a `name=value` pair, if any. */
export function unitCookieOf(response: Response): string | undefined {
	const header = response.headers.getSetCookie().find((c) => c.startsWith("sy_uid="));
	return header?.split(";")[0];
}

/** A browser-like visitor that keeps the unit cookie between requests. */
export class Visitor {
	cookie: string | undefined;

	async predict(name: string, options: PredictOptions = {}): Promise<Response> {
		const headers = { ...options.headers, ...(this.cookie ? { cookie: this.cookie } : {}) };
		const response = await predict(name, { ...options, headers });
		this.cookie = unitCookieOf(response) ?? this.cookie;
		return response;
	}

	/** Sends a prediction and returns the serving variant, consuming the body. */
	async variant(name: string, options: PredictOptions = {}): Promise<string | null> {
		const response = await this.predict(name, options);
		await response.arrayBuffer();
		return response.headers.get("x-model-variant");
	}
}
