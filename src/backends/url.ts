/**
 * `url`: a model served over the network. The rest of the prediction path
 * and the query are appended to the backend's base URL.
 */
import type { Backend } from "../config/spec";
import { type Credential, credentialOf, requestInit } from "./http";
import type { BackendAdapter, ForwardInit, Upstream } from "./types";

class UrlUpstream implements Upstream {
	constructor(
		readonly url: string,
		readonly credential: Credential | undefined,
	) {}

	get credentialed(): boolean {
		return this.credential !== undefined;
	}

	send(init: ForwardInit, signal: AbortSignal): Promise<Response> {
		return fetch(this.url, requestInit(init, this.credential, signal));
	}
}

export const urlBackend: BackendAdapter<"url"> = {
	kind: "url",
	matches: (backend) => backend.url !== undefined,
	resolve(backend, env, target) {
		const credential = credentialOf(backend, env);
		if (credential !== undefined && "error" in credential) return credential;
		const base = (backend.url ?? "").replace(/\/+$/, "");
		return new UrlUpstream(`${base}${target.restPath}${target.search}`, credential);
	},
	readsUsage: (backend: Backend) => backend.price !== undefined,
};
