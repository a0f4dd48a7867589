/**
 * Demo chat model: an OpenAI-compatible server that writes deterministic text,
 * so rollouts of LLM endpoints can be tried and tested without a GPU.
 *
 * - `POST …/v1/chat/completions` — a chat completion, or with `stream: true`
 *   Server-Sent Events (`chat.completion.chunk`, `usage` in a last chunk when
 *   `stream_options.include_usage`, then `[DONE]`).
 * - `POST …/v1/embeddings` — 8-dimensional embeddings derived from the text.
 * - `POST …/v2/models/<model>/infer` — the Open Inference Protocol v2: the
 *   sum and the mean of each FP32 input.
 *
 * The answer to a prompt is always the same words (a word is a token).
 * Knobs ([vars]): TTFT_MS (wait before the first token, 80), TOKENS_PER_SECOND
 * (40), ERROR_RATE (share answered 500 at once), MID_STREAM_ERROR_RATE (share
 * of streams that break halfway), VERSION (the `model` it reports, "chat-v1").
 */

interface ChatEnv {
	TTFT_MS?: string;
	TOKENS_PER_SECOND?: string;
	ERROR_RATE?: string;
	MID_STREAM_ERROR_RATE?: string;
	VERSION?: string;
}

interface ChatRequest {
	messages?: { role?: string; content?: unknown }[];
	stream?: boolean;
	max_tokens?: number;
	stream_options?: { include_usage?: boolean };
}

const VOCABULARY = (
	"the model considers your question carefully and answers with a short calm reply " +
	"about rollouts canaries shadows and experiments at the edge of the network today"
).split(" ");

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The reply's words: the same for the same prompt, as many as asked (40 by default, at most 4,000). */
export function replyWords(prompt: string, maxTokens = 40): string[] {
	let h = 2166136261;
	for (const byte of encoder.encode(prompt)) h = Math.imul(h ^ byte, 16777619);
	const count = Math.max(1, Math.min(4000, Math.floor(maxTokens)));
	return Array.from({ length: count }, (_, i) => {
		h = Math.imul(h ^ i, 16777619) >>> 0;
		return VOCABULARY[h % VOCABULARY.length] as string;
	});
}

function promptOf(request: ChatRequest): string {
	const messages = Array.isArray(request.messages) ? request.messages : [];
	return messages.map((m) => (typeof m.content === "string" ? m.content : "")).join("\n");
}

function error(status: number, message: string): Response {
	return Response.json({ error: { message, type: "invalid_request_error" } }, { status });
}

function knobs(env: ChatEnv) {
	return {
		ttftMs: Number(env.TTFT_MS ?? 80),
		tokensPerSecond: Math.max(0.01, Number(env.TOKENS_PER_SECOND ?? 40)),
		errorRate: Number(env.ERROR_RATE ?? 0),
		midStreamErrorRate: Number(env.MID_STREAM_ERROR_RATE ?? 0),
		version: env.VERSION ?? "chat-v1",
	};
}

function chat(request: ChatRequest, env: ChatEnv): Response {
	const k = knobs(env);
	const prompt = promptOf(request);
	const words = replyWords(prompt, request.max_tokens);
	const usage = {
		prompt_tokens: prompt.split(/\s+/).filter(Boolean).length,
		completion_tokens: words.length,
		total_tokens: 0,
	};
	usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
	const id = `chatcmpl-${k.version}`;
	const created = Math.floor(Date.now() / 1000);
	if (!request.stream) {
		const body = {
			id,
			object: "chat.completion",
			created,
			model: k.version,
			choices: [
				{
					index: 0,
					message: { role: "assistant", content: words.join(" ") },
					finish_reason: "stop",
				},
			],
			usage,
		};
		const wait = k.ttftMs + (words.length * 1000) / k.tokensPerSecond;
		return new Response(
			new ReadableStream({
				async start(controller) {
					await sleep(wait);
					controller.enqueue(encoder.encode(JSON.stringify(body)));
					controller.close();
				},
			}),
			{ headers: { "content-type": "application/json" } },
		);
	}
	const breaks = Math.random() < k.midStreamErrorRate;
	const chunk = (delta: object, extra: object = {}) =>
		encoder.encode(
			`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: k.version, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`,
		);
	return new Response(
		new ReadableStream({
			async start(controller) {
				controller.enqueue(chunk({ role: "assistant", content: "" }));
				await sleep(k.ttftMs);
				for (const [i, word] of words.entries()) {
					if (breaks && i === Math.floor(words.length / 2)) {
						controller.error(new Error("the model crashed mid-stream (MID_STREAM_ERROR_RATE)"));
						return;
					}
					if (i > 0) await sleep(1000 / k.tokensPerSecond);
					controller.enqueue(chunk({ content: i === 0 ? word : ` ${word}` }));
				}
				if (request.stream_options?.include_usage)
					controller.enqueue(
						encoder.encode(
							`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: k.version, choices: [], usage })}\n\n`,
						),
					);
				controller.enqueue(encoder.encode("data: [DONE]\n\n"));
				controller.close();
			},
		}),
		{
			headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
		},
	);
}

function embeddings(request: { input?: unknown }, env: ChatEnv): Response {
	const inputs = Array.isArray(request.input) ? request.input : [request.input];
	if (!inputs.every((i) => typeof i === "string")) return error(400, "input must be text");
	const texts = inputs as string[];
	const data = texts.map((text, index) => {
		let h = 2166136261;
		for (const byte of encoder.encode(text)) h = Math.imul(h ^ byte, 16777619);
		const embedding = Array.from({ length: 8 }, (_, i) => {
			h = Math.imul(h ^ i, 16777619) >>> 0;
			return (h % 2000) / 1000 - 1;
		});
		return { object: "embedding", index, embedding };
	});
	const tokens = texts.reduce((s, t) => s + t.split(/\s+/).filter(Boolean).length, 0);
	return Response.json({
		object: "list",
		model: knobs(env).version,
		data,
		usage: { prompt_tokens: tokens, total_tokens: tokens },
	});
}

function infer(model: string, request: { inputs?: unknown }): Response {
	if (!Array.isArray(request.inputs)) return error(400, "inputs must be a list of tensors");
	const outputs = [];
	for (const input of request.inputs as { name?: unknown; data?: unknown }[]) {
		if (!Array.isArray(input.data) || !input.data.every((x) => typeof x === "number"))
			return error(400, "each input needs numeric data");
		const data = input.data as number[];
		const sum = data.reduce((s, x) => s + x, 0);
		outputs.push({
			name: `${String(input.name ?? "input")}_stats`,
			shape: [2],
			datatype: "FP32",
			data: [sum, data.length > 0 ? sum / data.length : 0],
		});
	}
	return Response.json({ model_name: model, outputs });
}

export default {
	async fetch(request, env) {
		const path = new URL(request.url).pathname;
		if (path.endsWith("/healthz")) return Response.json({ ok: true });
		if (request.method !== "POST") return error(405, "POST JSON");
		const k = knobs(env);
		if (Math.random() < k.errorRate) return error(500, `${k.version} failed on purpose`);
		let body: unknown;
		try {
			body = await request.json();
		} catch {
			return error(400, "the body is not JSON");
		}
		if (typeof body !== "object" || body === null) return error(400, "the body must be an object");
		if (path.endsWith("/chat/completions")) return chat(body as ChatRequest, env);
		if (path.endsWith("/embeddings")) return embeddings(body as { input?: unknown }, env);
		const oip = /\/v2\/models\/([^/]+)\/infer$/.exec(path);
		if (oip) return infer(decodeURIComponent(oip[1] ?? ""), body as { inputs?: unknown });
		return error(404, `no such endpoint: ${path}`);
	},
} satisfies ExportedHandler<ChatEnv>;
