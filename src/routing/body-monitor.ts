/**
 * Passing a model's answer through while watching it. The body streams to
 * the client as it arrives — nothing is buffered on the user's path — and the
 * monitor notes what an LLM rollout is judged on: time to the first byte,
 * time to the first token (SSE), the total duration, token usage, and how
 * the body ended. It also bounds the wait between chunks (`idleTimeoutMs`)
 * and the whole answer (`maxDurationMs`); the header timeout never cuts a
 * stream.
 *
 * Both clocks run only while the client is waiting for the next chunk: the
 * stream is pulled, so a slow reader never makes a backend look idle or
 * slow (`maxDurationMs` bounds the time spent waiting on the backend, not
 * the time the client takes to read).
 */

import { clientWentAway } from "../backends/outcome";
import { joinChunks } from "../lib/body";
import { SseReader } from "../llm/sse";
import { type Usage, usageOfText } from "../llm/usage";

/** True for an event stream (its events are read: TTFT, text, usage). */
export function isEventStream(response: Response): boolean {
	return (response.headers.get("content-type") ?? "").includes("text/event-stream");
}

/**
 * True for an answer that streams by nature (event streams, JSON lines): the
 * ones whose timing, mid-way failures and limits matter. A plain JSON answer
 * is not, whatever its transfer (service bindings declare no length).
 */
export function isStreaming(response: Response): boolean {
	const type = response.headers.get("content-type");
	return (
		type !== null &&
		(type.includes("event-stream") || type.includes("ndjson") || type.includes("jsonl"))
	);
}

export interface BodyReport {
	/**
	 * ok: the body arrived whole; stream: it broke after the headers (the
	 * backend's fault); timeout: the idle or maximum-duration limit cut it;
	 * client: the client went away first.
	 */
	outcome: "ok" | "stream" | "timeout" | "client";
	/** From the start of the call to the first body byte. */
	ttfbMs?: number;
	/** From the start of the call to the first SSE event with content. */
	ttftMs?: number;
	/** From the start of the call to the end of the body (or its failure). */
	durationMs: number;
	bytes: number;
	usage?: Usage;
	/** The answer as text for comparison: an SSE stream's assembled content, else the body. */
	captured?: { text: string; truncated: boolean };
	error?: string;
}

export interface MonitorOptions {
	/** When the backend call started (Unix ms). */
	startedAt: number;
	/** An event stream: read its events (TTFT, text, usage). */
	sse: boolean;
	idleTimeoutMs: number;
	maxDurationMs: number;
	/** Characters of the answer to keep as text (comparison, usage of a JSON answer); 0 keeps none. */
	captureChars: number;
	/** The client's signal: a read failing once it went away is the client's doing, not a broken stream. */
	clientSignal?: AbortSignal;
	now?: () => number;
}

const TIMED_OUT = Symbol("timed out");

export function monitorBody(
	body: ReadableStream<Uint8Array>,
	options: MonitorOptions,
): { stream: ReadableStream<Uint8Array>; done: Promise<BodyReport> } {
	const now = options.now ?? Date.now;
	const { startedAt, captureChars } = options;
	// Time spent waiting on the backend for body chunks, the headers' wait included.
	let waited = 0;
	let headersCounted = false;
	const reader = body.getReader();
	const decoder = options.sse || captureChars > 0 ? new TextDecoder() : undefined;
	const events = options.sse ? new SseReader(captureChars) : undefined;
	let raw = "";
	let rawTruncated = false;
	let bytes = 0;
	let firstByteAt: number | undefined;
	let settle: (report: BodyReport) => void = () => {};
	const done = new Promise<BodyReport>((resolve) => {
		settle = resolve;
	});
	let finished = false;
	const finish = (outcome: BodyReport["outcome"], error?: string) => {
		if (finished) return;
		finished = true;
		const end = now();
		events?.end(end);
		const captured = events
			? { text: events.text, truncated: events.truncated }
			: captureChars > 0
				? { text: raw, truncated: rawTruncated }
				: undefined;
		const usage = events
			? events.usage
			: captured && !captured.truncated
				? usageOfText(raw)
				: undefined;
		settle({
			outcome,
			durationMs: end - startedAt,
			bytes,
			...(firstByteAt !== undefined ? { ttfbMs: firstByteAt - startedAt } : {}),
			...(events?.firstContentAt !== undefined
				? { ttftMs: events.firstContentAt - startedAt }
				: {}),
			...(usage ? { usage } : {}),
			...(captured ? { captured } : {}),
			...(error ? { error } : {}),
		});
	};
	const stream = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const pulledAt = now();
			if (!headersCounted) {
				headersCounted = true;
				waited = pulledAt - startedAt;
			}
			const wait = Math.min(options.idleTimeoutMs, options.maxDurationMs - waited);
			let timer: ReturnType<typeof setTimeout> | null = null;
			let next: ReadableStreamReadResult<Uint8Array> | typeof TIMED_OUT;
			try {
				next = await Promise.race([
					reader.read(),
					new Promise<typeof TIMED_OUT>((resolve) => {
						timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, wait));
					}),
				]);
			} catch (error) {
				clearTimeout(timer);
				controller.error(error);
				finish(
					clientWentAway(options.clientSignal, error) ? "client" : "stream",
					error instanceof Error ? error.message : String(error),
				);
				return;
			}
			clearTimeout(timer);
			waited += now() - pulledAt;
			if (next === TIMED_OUT) {
				const limit = wait < options.idleTimeoutMs ? "maxDurationMs" : "idleTimeoutMs";
				const error = new Error(`the model's answer exceeded ${limit}`);
				void reader.cancel(error).catch(() => {});
				controller.error(error);
				finish("timeout", error.message);
				return;
			}
			if (next.done) {
				controller.close();
				finish("ok");
				return;
			}
			const chunk = next.value;
			const at = now();
			firstByteAt ??= at;
			bytes += chunk.byteLength;
			if (decoder) {
				const text = decoder.decode(chunk, { stream: true });
				if (events) events.feed(text, at);
				else if (!rawTruncated) {
					const room = captureChars - raw.length;
					rawTruncated = text.length > room;
					raw += rawTruncated ? text.slice(0, room) : text;
				}
			}
			controller.enqueue(chunk);
		},
		cancel(reason) {
			finish("client");
			return reader.cancel(reason).catch(() => {});
		},
	});
	return { stream, done };
}

/**
 * Reads a monitored stream to its end (a shadow copy nobody else reads),
 * returning the report; `stop` cuts it short (reported as `client`: the
 * reader left).
 */
export async function drain(
	monitored: { stream: ReadableStream<Uint8Array>; done: Promise<BodyReport> },
	stop?: AbortSignal,
): Promise<BodyReport> {
	const reader = monitored.stream.getReader();
	const cancel = () => void reader.cancel("stopped").catch(() => {});
	stop?.addEventListener("abort", cancel, { once: true });
	try {
		for (;;) if ((await reader.read()).done) break;
	} catch {
		// The report says how the body ended.
	} finally {
		stop?.removeEventListener("abort", cancel);
	}
	return monitored.done;
}

/**
 * Reads a complete (non-streaming) answer for its text without the
 * monitor's per-chunk timers and second stream: a plain read loop that keeps
 * at most `captureChars` (then stops reading: the text is marked truncated).
 * Its duration runs to the end of the body.
 */
export async function readWhole(
	body: ReadableStream<Uint8Array>,
	options: WholeOptions,
): Promise<BodyReport> {
	const reader = body.getReader();
	const chunks: Uint8Array[] = [];
	let bytes = 0;
	try {
		for (;;) {
			const next = await reader.read();
			if (next.done) break;
			chunks.push(next.value);
			bytes += next.value.byteLength;
			if (bytes > options.captureChars * 4) {
				void reader.cancel("captured enough").catch(() => {});
				break;
			}
		}
	} catch (error) {
		return failed(options, bytes, error);
	}
	return captured(options, chunks, bytes);
}

type WholeOptions = Pick<MonitorOptions, "startedAt" | "captureChars" | "clientSignal" | "now">;

/** Answers of a declared length up to this are read whole before they are served (bufferWhole). */
export const BUFFER_WHOLE_BYTES = 262_144;

/**
 * A complete answer of small declared length whose text is needed (a shadow
 * comparison, usage): read natively in one call, then served from memory,
 * instead of a stream in JavaScript that copies it chunk by chunk. Only for
 * answers that are not streams; a body that breaks is served as one that
 * breaks, as it would have passed through. The whole read is time spent
 * waiting on the backend, so `maxDurationMs` (counted from the call) bounds it.
 */
export async function bufferWhole(
	response: Response,
	options: WholeOptions & { maxDurationMs: number },
): Promise<{ body: BodyInit; done: Promise<BodyReport> }> {
	const now = options.now ?? Date.now;
	let timer: ReturnType<typeof setTimeout> | null = null;
	const limit = new Promise<typeof TIMED_OUT>((resolve) => {
		timer = setTimeout(
			() => resolve(TIMED_OUT),
			Math.max(0, options.startedAt + options.maxDurationMs - now()),
		);
	});
	try {
		const read = await Promise.race([response.arrayBuffer(), limit]);
		if (read === TIMED_OUT) {
			const error = new Error("the model's answer exceeded maxDurationMs");
			void response.body?.cancel(error).catch(() => {});
			return {
				body: erroring(error),
				done: Promise.resolve({
					outcome: "timeout",
					durationMs: now() - options.startedAt,
					bytes: 0,
					error: error.message,
				}),
			};
		}
		const bytes = new Uint8Array(read);
		return { body: read, done: Promise.resolve(captured(options, [bytes], bytes.byteLength)) };
	} catch (error) {
		return { body: erroring(error), done: Promise.resolve(failed(options, 0, error)) };
	} finally {
		clearTimeout(timer);
	}
}

/** A body that fails at once: what a client gets of an answer that broke before it was served. */
function erroring(error: unknown): ReadableStream<Uint8Array> {
	return new ReadableStream({ start: (controller) => controller.error(error) });
}

/** The report of a complete answer whose first bytes are `chunks` (`bytes` in all). */
function captured(options: WholeOptions, chunks: Uint8Array[], bytes: number): BodyReport {
	// A character is at most 4 UTF-8 bytes: past this many bytes the text is cut anyway.
	const kept = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
	const text = new TextDecoder().decode(chunks.length === 1 ? chunks[0] : joinChunks(chunks, kept));
	const truncated = bytes > options.captureChars * 4 || text.length > options.captureChars;
	const usage = truncated ? undefined : usageOfText(text);
	return {
		outcome: "ok",
		durationMs: (options.now ?? Date.now)() - options.startedAt,
		bytes,
		captured: { text: truncated ? text.slice(0, options.captureChars) : text, truncated },
		...(usage ? { usage } : {}),
	};
}

function failed(options: WholeOptions, bytes: number, error: unknown): BodyReport {
	return {
		outcome: clientWentAway(options.clientSignal, error) ? "client" : "stream",
		durationMs: (options.now ?? Date.now)() - options.startedAt,
		bytes,
		error: error instanceof Error ? error.message : String(error),
	};
}

/**
 * A complete answer served as it arrives while its text is kept (a shadow
 * comparison, token usage of a JSON answer): one pass-through stream, no
 * timers. Its duration runs to the end of the body.
 */
export function copyWhole(
	body: ReadableStream<Uint8Array>,
	options: WholeOptions,
): { stream: ReadableStream<Uint8Array>; done: Promise<BodyReport> } {
	const reader = body.getReader();
	const chunks: Uint8Array[] = [];
	let bytes = 0;
	let settle: (report: BodyReport) => void = () => {};
	const done = new Promise<BodyReport>((resolve) => {
		settle = resolve;
	});
	const stream = new ReadableStream<Uint8Array>({
		async pull(controller) {
			let next: ReadableStreamReadResult<Uint8Array>;
			try {
				next = await reader.read();
			} catch (error) {
				controller.error(error);
				settle(failed(options, bytes, error));
				return;
			}
			if (next.done) {
				controller.close();
				settle(captured(options, chunks, bytes));
				return;
			}
			bytes += next.value.byteLength;
			if (bytes <= options.captureChars * 4) chunks.push(next.value);
			controller.enqueue(next.value);
		},
		cancel(reason) {
			settle({
				outcome: "client",
				durationMs: (options.now ?? Date.now)() - options.startedAt,
				bytes,
			});
			return reader.cancel(reason).catch(() => {});
		},
	});
	return { stream, done };
}
