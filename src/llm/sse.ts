/**
 * An incremental reader of OpenAI-compatible Server-Sent Event streams (chat
 * completions with `stream: true`, Workers AI, vLLM, TGI, Ollama): fed the
 * decoded text as it arrives, it notes when the first event with content came
 * (time to first token), assembles the assistant's text from
 * `choices[].delta.content` (or `response`, Workers AI's field) up to a cap,
 * and keeps the `usage` of the final chunk when the request asked for it.
 * Pure: takes text and times, holds plain data.
 */
import { type Usage, usageOf } from "./usage";

/** The longest event read; a longer one is skipped. */
export const MAX_EVENT_CHARS = 1_048_576;

export class SseReader {
	/** Unix ms of the first `data:` event that carried content. */
	firstContentAt: number | undefined;
	/** The assistant's text, up to `maxText` characters. */
	text = "";
	truncated = false;
	usage: Usage | undefined;
	/** Events seen. */
	events = 0;
	#pending = "";
	/** Inside an event too long to keep: skipping to its end. */
	#skipping = false;

	constructor(private readonly maxText: number) {}

	/**
	 * Feeds decoded text; complete events are read, a partial one waits for
	 * the rest. An event longer than {@link MAX_EVENT_CHARS} is skipped whole:
	 * a stream cannot make the reader hold unbounded text.
	 */
	feed(chunk: string, now: number): void {
		if (this.#skipping) {
			// The blank line ending the event may be split across chunks: keep its possible start.
			const text = this.#pending + chunk;
			const end = /\r?\n\r?\n/.exec(text);
			if (!end) {
				this.#pending = text.slice(-3);
				return;
			}
			this.#skipping = false;
			this.#pending = "";
			chunk = text.slice(end.index + end[0].length);
		}
		this.#pending += chunk;
		for (;;) {
			const end = /\r?\n\r?\n/.exec(this.#pending);
			if (!end) break;
			const event = this.#pending.slice(0, end.index);
			this.#pending = this.#pending.slice(end.index + end[0].length);
			if (event.length <= MAX_EVENT_CHARS) this.#read(event, now);
		}
		if (this.#pending.length > MAX_EVENT_CHARS) {
			this.#pending = this.#pending.slice(-3);
			this.#skipping = true;
		}
	}

	/** Reads what is left when the stream ends without a final blank line. */
	end(now: number): void {
		if (!this.#skipping && this.#pending.trim() !== "") this.#read(this.#pending, now);
		this.#pending = "";
	}

	#read(event: string, now: number): void {
		const data = event
			.split(/\r?\n/)
			.filter((line) => line.startsWith("data:"))
			.map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
			.join("\n");
		if (data === "" || data === "[DONE]") return;
		this.events += 1;
		let json: unknown;
		try {
			json = JSON.parse(data);
		} catch {
			return;
		}
		const content = contentOf(json);
		if (content) {
			this.firstContentAt ??= now;
			this.#append(content);
		}
		const usage = usageOf(json);
		if (usage) this.usage = usage;
	}

	#append(content: string): void {
		if (this.truncated) return;
		const room = this.maxText - this.text.length;
		if (content.length > room) {
			this.text += content.slice(0, room);
			this.truncated = true;
		} else this.text += content;
	}
}

/** The text an event adds: OpenAI's `choices[].delta.content` (or `.text`), Workers AI's `response`. */
export function contentOf(json: unknown): string {
	if (typeof json !== "object" || json === null) return "";
	const record = json as Record<string, unknown>;
	if (typeof record.response === "string") return record.response;
	if (!Array.isArray(record.choices)) return "";
	let text = "";
	for (const choice of record.choices) {
		if (typeof choice !== "object" || choice === null) continue;
		const c = choice as Record<string, unknown>;
		const delta = c.delta as Record<string, unknown> | undefined;
		if (delta && typeof delta.content === "string") text += delta.content;
		else if (typeof c.text === "string") text += c.text;
	}
	return text;
}
