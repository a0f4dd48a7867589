/**
 * `service`: a worker of yours behind a service binding, called with the
 * edge's own URL (origin, rest of the path, query): the binding decides
 * where it goes, the URL only tells the worker what was asked.
 */
import type { Backend } from "../config/spec";
import { fetcherOf } from "../lib/fetcher";
import { type Credential, credentialOf, requestInit } from "./http";
import type { BackendAdapter, ForwardInit, Upstream } from "./types";

class ServiceUpstream implements Upstream {
	constructor(
		readonly url: string,
		readonly fetcher: Fetcher,
		readonly credential: Credential | undefined,
	) {}

	get credentialed(): boolean {
		return this.credential !== undefined;
	}

	send(init: ForwardInit, signal: AbortSignal): Promise<Response> {
		return this.fetcher.fetch(this.url, requestInit(init, this.credential, signal));
	}
}

export const serviceBackend: BackendAdapter<"service"> = {
	kind: "service",
	matches: (backend) => backend.service !== undefined,
	resolve(backend, env, target) {
		const credential = credentialOf(backend, env);
		if (credential !== undefined && "error" in credential) return credential;
		const name = backend.service ?? "";
		const fetcher = fetcherOf(env, name);
		if (fetcher === null) return { error: `service binding ${name} is not configured` };
		return new ServiceUpstream(
			`${target.origin}${target.restPath}${target.search}`,
			fetcher,
			credential,
		);
	},
	readsUsage: (backend: Backend) => backend.price !== undefined,
};
