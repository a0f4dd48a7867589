/** Body bytes: chunks read from a stream, joined. (Reading a request body within a limit: ../request-body.ts.) */

/** The chunks of a body, end to end. */
export function joinChunks(chunks: Uint8Array[], size: number): Uint8Array {
	const joined = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		joined.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return joined;
}
