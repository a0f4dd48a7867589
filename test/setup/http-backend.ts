/**
 * A real HTTP server on loopback for `url` backends in workerd tests: the
 * conformance backend's handler (test/workers/conformance.ts) behind
 * node:http, started before the workers pool and stopped after it. Tests
 * read its base URL with `inject("httpBackend")`. A request the handler
 * fails (`x-stub-throw`) loses its connection without an answer, as a
 * crashed server's would.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { answer } from "../workers/conformance";

declare module "vitest" {
	interface ProvidedContext {
		/** "http://127.0.0.1:<port>" */
		httpBackend: string;
	}
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
	const server = createServer((incoming, outgoing) => {
		const gone = new AbortController();
		outgoing.on("close", () => gone.abort());
		void readAll(incoming)
			.then((body) => answer(toRequest(incoming, body, gone.signal)))
			.then(async (response) => {
				const bytes = Buffer.from(await response.arrayBuffer());
				outgoing.writeHead(response.status, Object.fromEntries(response.headers));
				outgoing.end(bytes);
			})
			.catch(() => incoming.socket.destroy());
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	project.provide("httpBackend", `http://127.0.0.1:${port}`);
	return () =>
		new Promise<void>((resolve) => {
			server.closeAllConnections();
			server.close(() => resolve());
		});
}

async function readAll(incoming: IncomingMessage): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of incoming) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

function toRequest(incoming: IncomingMessage, body: Buffer, signal: AbortSignal): Request {
	const headers = new Headers();
	for (let i = 0; i + 1 < incoming.rawHeaders.length; i += 2)
		headers.append(incoming.rawHeaders[i] as string, incoming.rawHeaders[i + 1] as string);
	const method = incoming.method ?? "GET";
	return new Request(`http://${headers.get("host") ?? "127.0.0.1"}${incoming.url ?? "/"}`, {
		method,
		headers,
		body: method === "GET" || method === "HEAD" ? null : body,
		signal,
	});
}
