/**
 * `ai`: a Workers AI model as a backend. An OpenAI-compatible request goes
 * to the `AI` binding's `run` (through an AI Gateway when the spec names
 * one), and its answer comes back OpenAI-compatible — a `chat.completion`
 * object, or SSE `chat.completion.chunk` events for `stream: true` — so
 * clients and the body monitor see one protocol whatever serves them. The
 * model has no path: the rest of the path and the query are not sent. The
 * binding is the credential (no `auth`), and its answers always carry token
 * usage, so they are always read for it.
 */
import { logError } from "../lib/log";
import type { BackendAdapter, ForwardInit, Upstream } from "./types";

/** The part of the AI binding Switchyard calls. */
export interface AiRunner {
	run(model: string, inputs: unknown, options?: unknown): Promise<unknown>;
}

export function isAiRunner(value: unknown): value is AiRunner {
	return (
		typeof value === "object" && value !== null && typeof Reflect.get(value, "run") === "function"
	);
}

class AiUpstream implements Upstream {
	readonly credentialed = false;

	constructor(
		readonly runner: AiRunner,
		readonly model: { model: string; gateway?: string },
	) {}

	send(init: ForwardInit, signal: AbortSignal): Promise<Response> {
		// The AI binding takes no signal: race it, so it still times out.
		return Promise.race([runAi(this.runner, this.model, init.body), rejectOnAbort(signal)]);
	}
}

export const aiBackend: BackendAdapter<"ai"> = {
	kind: "ai",
	matches: (backend) => backend.ai !== undefined,
	resolve(backend, env) {
		const runner: unknown = Reflect.get(env, "AI");
		if (!isAiRunner(runner) || backend.ai === undefined)
			return { error: "the AI binding is not configured" };
		return new AiUpstream(runner, backend.ai);
	},
	readsUsage: () => true,
};

/** Rejects when the signal aborts (a call that ignores its signal still times out). */
function rejectOnAbort(signal: AbortSignal): Promise<never> {
	return new Promise((_, reject) => {
		if (signal.aborted) reject(signal.reason);
		else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
	});
}

const encoder = new TextEncoder();

/** Calls the model and answers like an OpenAI-compatible server would. */
export async function runAi(
	ai: AiRunner,
	model: { model: string; gateway?: string },
	body: ArrayBuffer | null,
): Promise<Response> {
	let inputs: unknown;
	try {
		inputs = body && body.byteLength > 0 ? JSON.parse(new TextDecoder().decode(body)) : {};
	} catch {
		return Response.json(
			{ error: { code: "invalid_request", message: "the body is not JSON" } },
			{ status: 400 },
		);
	}
	const options = model.gateway ? { gateway: { id: model.gateway } } : undefined;
	let result: unknown;
	try {
		result = await ai.run(model.model, inputs, options);
	} catch (error) {
		return aiErrorResponse(error);
	}
	if (result instanceof ReadableStream) {
		return new Response(result.pipeThrough(toOpenAiChunks(model.model)), {
			headers: { "content-type": "text/event-stream; charset=utf-8" },
		});
	}
	return Response.json(toOpenAiCompletion(model.model, result));
}

/**
 * Workers AI's internal error codes by whose fault they are. The input's
 * (a bad prompt, too large) are the client's: a 4xx, charged to no variant.
 * A model that does not exist or is not allowed is the variant's own
 * misconfiguration, and no capacity is the platform's: both are a 5xx the
 * variant answers for, like a timeout. Unknown codes are the variant's.
 */
const AI_ERROR_STATUS: Record<string, number> = {
	"3003": 400, // incomplete request
	"3006": 413, // request too large
	"5004": 400, // invalid data
	"5006": 400, // input validation
	"3007": 504, // timeout
	"3008": 504, // aborted
};

/** The answer for an error the AI binding threw: an OpenAI-style error body with a status by fault. */
export function aiErrorResponse(error: unknown): Response {
	const message = error instanceof Error ? error.message : String(error);
	logError("ai_failed", { message });
	const code = /\b([35]\d{3})\b/.exec(message)?.[1];
	const status = (code && AI_ERROR_STATUS[code]) || 502;
	return Response.json(
		{
			error: {
				code: status < 500 ? "invalid_request" : "model_error",
				message: status < 500 ? message : "the model failed",
				...(code ? { ai_code: Number(code) } : {}),
			},
		},
		{ status },
	);
}

/** A Workers AI answer (`{response, usage}`) as a `chat.completion`; one that already is passes as is. */
export function toOpenAiCompletion(model: string, result: unknown): unknown {
	if (typeof result !== "object" || result === null) return result;
	const record = result as Record<string, unknown>;
	if (Array.isArray(record.choices) || typeof record.response !== "string") return result;
	return {
		id: `chatcmpl-${crypto.randomUUID()}`,
		object: "chat.completion",
		created: Math.floor(Date.now() / 1000),
		model,
		choices: [
			{
				index: 0,
				message: { role: "assistant", content: record.response },
				finish_reason: "stop",
			},
		],
		...(record.usage ? { usage: record.usage } : {}),
	};
}

/** Rewrites Workers AI's SSE (`data: {"response": "…"}`) into OpenAI chunks, event by event. */
export function toOpenAiChunks(model: string): TransformStream<Uint8Array, Uint8Array> {
	const decoder = new TextDecoder();
	const id = `chatcmpl-${crypto.randomUUID()}`;
	let pending = "";
	const chunk = (delta: object, extra: object = {}) =>
		`data: ${JSON.stringify({ id, object: "chat.completion.chunk", model, choices: [{ index: 0, delta }], ...extra })}\n\n`;
	const rewrite = (event: string): string => {
		const data = event
			.split(/\r?\n/)
			.filter((line) => line.startsWith("data:"))
			.map((line) => line.slice(5).trim())
			.join("");
		if (data === "") return "";
		if (data === "[DONE]") return "data: [DONE]\n\n";
		try {
			const json = JSON.parse(data) as Record<string, unknown>;
			if (Array.isArray(json.choices)) return `data: ${data}\n\n`;
			const parts: string[] = [];
			if (typeof json.response === "string" && json.response !== "")
				parts.push(chunk({ content: json.response }));
			if (json.usage)
				parts.push(
					`data: ${JSON.stringify({ id, object: "chat.completion.chunk", model, choices: [], usage: json.usage })}\n\n`,
				);
			return parts.join("");
		} catch {
			return `data: ${data}\n\n`;
		}
	};
	return new TransformStream({
		transform(bytes, controller) {
			pending += decoder.decode(bytes, { stream: true });
			for (;;) {
				const end = /\r?\n\r?\n/.exec(pending);
				if (!end) break;
				const out = rewrite(pending.slice(0, end.index));
				pending = pending.slice(end.index + end[0].length);
				if (out) controller.enqueue(encoder.encode(out));
			}
		},
		flush(controller) {
			const out = rewrite(pending);
			if (out) controller.enqueue(encoder.encode(out));
		},
	});
}
