/**
 * Reading a request body whole, within a size limit: a declared length over
 * the limit is refused before reading, an undeclared one is counted as it
 * arrives and cut at the limit. Too large is 413 `payload_too_large` in the
 * one error envelope (errors.ts).
 */
import { HttpError } from "./errors";
import { joinChunks } from "./lib/body";

export async function readBody(request: Request, maxBytes: number): Promise<ArrayBuffer | null> {
	if (request.body === null || request.method === "GET" || request.method === "HEAD") return null;
	const declared = request.headers.get("content-length");
	if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
	if (declared !== null && Number.isFinite(Number(declared))) return request.arrayBuffer();
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > maxBytes) {
			await reader.cancel();
			throw tooLarge(maxBytes);
		}
		chunks.push(value);
	}
	return joinChunks(chunks, size).buffer as ArrayBuffer;
}

function tooLarge(maxBytes: number): HttpError {
	return new HttpError(
		413,
		"payload_too_large",
		`the request body is larger than this route accepts (${maxBytes} bytes)`,
	);
}
