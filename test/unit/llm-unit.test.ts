import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_EVENT_CHARS, SseReader } from "../../src/llm/sse";
import { costOf, tokensPerSecond, usageOf, usageOfText } from "../../src/llm/usage";
import {
	bufferWhole,
	copyWhole,
	drain,
	monitorBody,
	readWhole,
} from "../../src/routing/body-monitor";

const encoder = new TextEncoder();

/** An OpenAI-style chat stream: a role chunk, content chunks, a usage chunk, [DONE]. */
function chatStream(words: string[], usage = true): string {
	const chunk = (delta: object, extra: object = {}) =>
		`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta }], ...extra })}\n\n`;
	return [
		chunk({ role: "assistant" }),
		...words.map((w) => chunk({ content: w })),
		usage
			? `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: words.length } })}\n\n`
			: "",
		"data: [DONE]\n\n",
	].join("");
}

function streamOf(parts: (string | Uint8Array)[], gapMs = 0): ReadableStream<Uint8Array> {
	const queue = [...parts];
	return new ReadableStream({
		async pull(controller) {
			const part = queue.shift();
			if (part === undefined) return controller.close();
			if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
			controller.enqueue(typeof part === "string" ? encoder.encode(part) : part);
		},
	});
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
	return new Response(stream).text();
}

describe("reading an SSE chat stream", () => {
	it("assembles the text, notes the first content (not the role chunk) and keeps the final usage", () => {
		const reader = new SseReader(1000);
		const events = chatStream(["Hello", ", ", "world"]);
		// Fed in awkward pieces: events split across chunks, as networks deliver them.
		for (let i = 0; i < events.length; i += 7) reader.feed(events.slice(i, i + 7), 100 + i);
		reader.end(10_000);
		expect(reader.text).toBe("Hello, world");
		expect(reader.usage).toEqual({ promptTokens: 7, completionTokens: 3 });
		const roleEnd = events.indexOf("\n\n") + 2;
		expect(reader.firstContentAt).toBeGreaterThan(100 + roleEnd - 7);
	});

	it("reads CRLF line ends, Workers AI's `response` field and a last event without its blank line", () => {
		const reader = new SseReader(1000);
		reader.feed('data: {"response":"Hi"}\r\n\r\ndata: {"response":" there"}', 5);
		reader.end(9);
		expect(reader.text).toBe("Hi there");
		expect(reader.firstContentAt).toBe(5);
	});

	it("caps the text it keeps, and says so", () => {
		const reader = new SseReader(5);
		reader.feed(chatStream(["abc", "def", "ghi"], false), 1);
		expect(reader).toMatchObject({ text: "abcde", truncated: true });
	});

	it("skips an event too long to hold, and reads on after it, however the stream is cut (property)", () => {
		const huge = `data: ${JSON.stringify({ choices: [{ delta: { content: "x".repeat(MAX_EVENT_CHARS) } }] })}\n\n`;
		const stream = chatStream(["ab"], false) + huge + chatStream(["cd"], true);
		fc.assert(
			fc.property(
				fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
				(cuts) => {
					const reader = new SseReader(100);
					const points = [0, ...new Set(cuts)].sort((a, b) => a - b);
					for (const [i, at] of points.entries()) reader.feed(stream.slice(at, points[i + 1]), 1);
					reader.end(2);
					expect(reader.text).toBe("abcd");
					expect(reader.usage).toMatchObject({ completionTokens: 1 });
				},
			),
			{ seed: 13, numRuns: 50 },
		);
	});
});

describe("usage and cost", () => {
	it("reads OpenAI's and input/output names, and nothing else", () => {
		expect(usageOf({ usage: { prompt_tokens: 3, completion_tokens: 5 } })).toEqual({
			promptTokens: 3,
			completionTokens: 5,
		});
		expect(usageOf({ usage: { input_tokens: 3, output_tokens: 5 } })).toEqual({
			promptTokens: 3,
			completionTokens: 5,
		});
		expect(usageOf({ usage: { prompt_tokens: -1 } })).toBeUndefined();
		expect(usageOf({ data: [] })).toBeUndefined();
		expect(usageOfText('{"usage":{"prompt_tokens":2,"completion_tokens":0}}')).toEqual({
			promptTokens: 2,
			completionTokens: 0,
		});
		expect(usageOfText('{not json, but has "usage"')).toBeUndefined();
	});

	it("prices usage per million tokens, and lets a stated cost win", () => {
		const price = { inputPer1M: 0.5, outputPer1M: 1.5, costHeader: "x-cost" };
		const usage = { promptTokens: 1000, completionTokens: 2000 };
		expect(costOf(price, usage, null)).toBeCloseTo(0.0005 + 0.003, 12);
		expect(costOf(price, usage, "0.25")).toBe(0.25);
		expect(costOf(price, usage, "not a number")).toBeCloseTo(0.0035, 12);
		expect(costOf(undefined, usage, "0.25")).toBeUndefined();
		expect(costOf({ inputPer1M: 1 }, undefined, null)).toBeUndefined();
	});

	it("measures tokens per second of generation", () => {
		expect(tokensPerSecond({ promptTokens: 1, completionTokens: 50 }, 2000)).toBe(25);
		expect(tokensPerSecond({ promptTokens: 1, completionTokens: 0 }, 2000)).toBeUndefined();
		expect(tokensPerSecond(undefined, 2000)).toBeUndefined();
	});
});

describe("the body monitor", () => {
	const base = { startedAt: Date.now(), idleTimeoutMs: 5000, maxDurationMs: 600_000 };

	it("passes every byte through unchanged, however the body is chunked (property)", async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
				fc.boolean(),
				async (chunks, sse) => {
					const expected = Buffer.concat(chunks);
					const monitored = monitorBody(streamOf(chunks), { ...base, sse, captureChars: 100 });
					const out = new Uint8Array(await new Response(monitored.stream).arrayBuffer());
					expect(Buffer.from(out).equals(expected)).toBe(true);
					expect((await monitored.done).bytes).toBe(expected.length);
				},
			),
			{ seed: 11, numRuns: 100 },
		);
	});

	it("times the first byte and the first token of a stream, and reads its usage", async () => {
		let clock = 1000;
		const monitored = monitorBody(
			streamOf([chatStream(["a"]).slice(0, 80), chatStream(["a"]).slice(80)]),
			{
				...base,
				startedAt: 900,
				sse: true,
				captureChars: 100,
				now: () => (clock += 10),
			},
		);
		expect(await text(monitored.stream)).toBe(chatStream(["a"]));
		const report = await monitored.done;
		expect(report).toMatchObject({
			outcome: "ok",
			usage: { promptTokens: 7, completionTokens: 1 },
		});
		// The clock ticks 10 ms a reading: the first byte came with the first chunk, the first
		// token (past the role chunk) with the second.
		expect(report.ttfbMs).toBeGreaterThan(100);
		expect(report.ttftMs).toBeGreaterThan(report.ttfbMs ?? 0);
		expect(report.captured).toEqual({ text: "a", truncated: false });
	});

	it("reads the usage of a complete JSON answer when it keeps its text", async () => {
		const answer = JSON.stringify({
			choices: [{ message: { content: "hi" } }],
			usage: { prompt_tokens: 4, completion_tokens: 2 },
		});
		const monitored = monitorBody(streamOf([answer]), {
			...base,
			sse: false,
			captureChars: 10_000,
		});
		expect(await drain(monitored)).toMatchObject({
			outcome: "ok",
			usage: { promptTokens: 4, completionTokens: 2 },
		});
	});

	it("cuts a body whose next chunk does not come within idleTimeoutMs, as a timeout", async () => {
		const stalled = new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(encoder.encode("data: {}\n\n"));
			},
		});
		const monitored = monitorBody(stalled, {
			...base,
			idleTimeoutMs: 30,
			sse: true,
			captureChars: 0,
		});
		await expect(text(monitored.stream)).rejects.toThrow(/idleTimeoutMs/);
		expect(await monitored.done).toMatchObject({ outcome: "timeout", bytes: 10 });
	});

	it("cuts a body that outlasts maxDurationMs though chunks keep coming", async () => {
		const endless = new ReadableStream<Uint8Array>({
			async pull(controller) {
				await new Promise((resolve) => setTimeout(resolve, 5));
				controller.enqueue(encoder.encode("x"));
			},
		});
		const monitored = monitorBody(endless, {
			...base,
			startedAt: Date.now(),
			maxDurationMs: 60,
			sse: false,
			captureChars: 0,
		});
		await expect(text(monitored.stream)).rejects.toThrow(/maxDurationMs/);
		expect((await monitored.done).outcome).toBe("timeout");
	});

	it("bounds the time spent waiting on the backend, not a slow reader's: maxDurationMs", async () => {
		// A backend that makes each chunk 15 ms after it is asked (nothing ahead), read by a
		// client that pauses 60 ms a chunk: 75 ms waiting on the backend, 300 ms on the wall.
		const parts = ["a", "b", "c", "d", "e"];
		const lazy = new ReadableStream<Uint8Array>(
			{
				async pull(controller) {
					const part = parts.shift();
					if (part === undefined) return controller.close();
					await new Promise((resolve) => setTimeout(resolve, 15));
					controller.enqueue(encoder.encode(part));
				},
			},
			{ highWaterMark: 0 },
		);
		const monitored = monitorBody(lazy, {
			...base,
			startedAt: Date.now(),
			maxDurationMs: 200,
			sse: false,
			captureChars: 0,
		});
		const reader = monitored.stream.getReader();
		let read = "";
		for (;;) {
			const next = await reader.read();
			if (next.done) break;
			read += new TextDecoder().decode(next.value);
			await new Promise((resolve) => setTimeout(resolve, 60));
		}
		expect(read).toBe("abcde");
		const report = await monitored.done;
		expect(report.outcome).toBe("ok");
		// The wall time went past the limit the backend kept to.
		expect(report.durationMs).toBeGreaterThan(200);
	});

	it("says a body that breaks after the headers is a stream failure, and a client that leaves is the client's", async () => {
		const failing = monitorBody(breakingBody(), { ...base, sse: false, captureChars: 0 });
		await expect(text(failing.stream)).rejects.toThrow(/reset/);
		expect(await failing.done).toMatchObject({
			outcome: "stream",
			bytes: 7,
			error: "connection reset",
		});

		const leaving = monitorBody(streamOf(["a", "b", "c"], 5), {
			...base,
			sse: false,
			captureChars: 0,
		});
		await leaveAfterFirstChunk(leaving.stream);
		expect((await leaving.done).outcome).toBe("client");

		// The runtime may fail the backend's read before the client's cancel arrives: the client's
		// signal (or the runtime's cancel error) still says who left.
		const gone = new AbortController();
		gone.abort();
		const cut = monitorBody(breakingBody(), {
			...base,
			sse: false,
			captureChars: 0,
			clientSignal: gone.signal,
		});
		await expect(text(cut.stream)).rejects.toThrow(/reset/);
		expect((await cut.done).outcome).toBe("client");
		const runtime = monitorBody(
			breakingBody(new Error("The Workers runtime canceled this request because …")),
			{ ...base, sse: false, captureChars: 0 },
		);
		await expect(text(runtime.stream)).rejects.toThrow(/canceled/);
		expect((await runtime.done).outcome).toBe("client");
	});
});

/** A client that reads one chunk and goes away. */
async function leaveAfterFirstChunk(stream: ReadableStream<Uint8Array>): Promise<void> {
	const reader = stream.getReader();
	await reader.read();
	await reader.cancel("gone");
}

function breakingBody(error = new Error("connection reset")): ReadableStream<Uint8Array> {
	return new ReadableStream<Uint8Array>({
		start(controller) {
			controller.enqueue(encoder.encode("partial"));
		},
		pull(controller) {
			controller.error(error);
		},
	});
}

describe("reading a complete answer (no stream to watch)", () => {
	const base = { startedAt: Date.now() };

	it("serves every byte and keeps the same text however the body is chunked (property)", async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(fc.string({ maxLength: 16 }), { maxLength: 12 }), async (parts) => {
				const whole = parts.join("");
				const copied = copyWhole(streamOf(parts), { ...base, captureChars: 1000 });
				expect(await text(copied.stream)).toBe(whole);
				expect((await copied.done).captured).toEqual({ text: whole, truncated: false });
				const read = await readWhole(streamOf(parts), { ...base, captureChars: 1000 });
				expect(read).toMatchObject({ outcome: "ok", captured: { text: whole, truncated: false } });
			}),
			{ seed: 12, numRuns: 100 },
		);
	});

	it("cuts the text it keeps at captureChars, says so, and reads no usage from a cut answer", async () => {
		const answer = JSON.stringify({
			usage: { prompt_tokens: 4, completion_tokens: 2 },
			pad: "x".repeat(50),
		});
		const cut = await readWhole(streamOf([answer]), { ...base, captureChars: 10 });
		expect(cut.captured).toEqual({ text: answer.slice(0, 10), truncated: true });
		expect(cut.usage).toBeUndefined();
		const whole = await readWhole(streamOf([answer]), { ...base, captureChars: 1000 });
		expect(whole.usage).toEqual({ promptTokens: 4, completionTokens: 2 });
		// Far past the cap it stops reading: a long answer is never held whole.
		const long = await readWhole(streamOf(Array.from({ length: 100 }, () => "y".repeat(10))), {
			...base,
			captureChars: 10,
		});
		expect(long.bytes).toBeLessThan(100 * 10);
		expect(long.captured?.truncated).toBe(true);
	});

	it("says a body that breaks is a stream failure, and a client that leaves is the client's", async () => {
		expect(await readWhole(breakingBody(), { ...base, captureChars: 100 })).toMatchObject({
			outcome: "stream",
			bytes: 7,
			error: "connection reset",
		});
		const copied = copyWhole(breakingBody(), { ...base, captureChars: 100 });
		await expect(text(copied.stream)).rejects.toThrow(/reset/);
		expect((await copied.done).outcome).toBe("stream");

		const leaving = copyWhole(streamOf(["a", "b", "c"], 5), { ...base, captureChars: 100 });
		await leaveAfterFirstChunk(leaving.stream);
		expect((await leaving.done).outcome).toBe("client");

		const gone = new AbortController();
		gone.abort();
		expect(
			(await readWhole(breakingBody(), { ...base, captureChars: 100, clientSignal: gone.signal }))
				.outcome,
		).toBe("client");
	});

	it("reads a small answer whole before serving it, and serves a broken one as broken", async () => {
		const limits = { ...base, captureChars: 100, maxDurationMs: 600_000 };
		const whole = await bufferWhole(new Response('{"label":"positive"}'), limits);
		expect(await new Response(whole.body).text()).toBe('{"label":"positive"}');
		expect(await whole.done).toMatchObject({
			outcome: "ok",
			bytes: 20,
			captured: { text: '{"label":"positive"}', truncated: false },
		});
		const broken = await bufferWhole(new Response(breakingBody()), limits);
		await expect(new Response(broken.body).text()).rejects.toThrow(/reset/);
		expect(await broken.done).toMatchObject({ outcome: "stream", error: "connection reset" });
	});

	it("gives up on a small answer whose body never comes, at maxDurationMs from the call", async () => {
		const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
		const cut = await bufferWhole(new Response(stalled), {
			startedAt: Date.now(),
			captureChars: 100,
			maxDurationMs: 50,
		});
		const report = await cut.done;
		expect(report).toMatchObject({ outcome: "timeout" });
		// Timers may fire a millisecond early by the wall clock.
		expect(report.durationMs).toBeGreaterThanOrEqual(45);
		await expect(new Response(cut.body).text()).rejects.toThrow(/maxDurationMs/);
	});
});
