/**
 * LLM endpoints through Switchyard, driven by the official `openai` client (a
 * real client, not our code) pointed at the edge: streamed and plain chat
 * completions, embeddings and the Open Inference Protocol through shadow, A/B
 * and canary; what lands in the metrics; streams that break or run long.
 */
import { env, exports } from "cloudflare:workers";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { replyWords } from "../../examples/models/chat";
import type { DeploymentSpecInput } from "../../src/config/spec";
import { look } from "../helpers/controller";
import { deploy, ORIGIN, predict, uniqueName } from "../helpers/edge";
import { store, totals, waitForComparisons, waitForRequests } from "../helpers/metrics";

const chatBackends = {
	champion: { version: "chat-v1", service: "MODEL_CHAT_V1" },
	candidate: { version: "chat-v2", service: "MODEL_CHAT_V2" },
} satisfies Partial<DeploymentSpecInput>;

/** An OpenAI client whose base URL is the deployment on Switchyard. */
function client(name: string, headers: Record<string, string> = {}): OpenAI {
	return new OpenAI({
		apiKey: "the-model's-own-key",
		baseURL: `${ORIGIN}/v1/models/${name}/v1`,
		maxRetries: 0,
		defaultHeaders: headers,
		fetch: (url, init) => exports.default.fetch(String(url), init),
	});
}

const PROMPT = "How do canaries help?";
const WORDS = 60;
const expected = replyWords(PROMPT, WORDS).join(" ");

async function streamed(openai: OpenAI, includeUsage = true): Promise<string> {
	const stream = await openai.chat.completions.create({
		model: "any",
		messages: [{ role: "user", content: PROMPT }],
		max_tokens: WORDS,
		stream: true,
		...(includeUsage ? { stream_options: { include_usage: true } } : {}),
	});
	let text = "";
	for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
	return text;
}

describe("OpenAI-compatible chat through every pattern", () => {
	// 60 tokens at 400 a second plus a 40 ms TTFT: about 190 ms, far past a 50 ms header timeout.
	const patterns: [string, Partial<DeploymentSpecInput>, number, "running" | "shadowing"][] = [
		[
			"canary",
			{ strategy: "canary", canary: { steps: [50, 100], bakeSeconds: 3600 } },
			50,
			"running",
		],
		["ab", { strategy: "ab" }, 50, "running"],
		["shadow", { strategy: "shadow" }, 0, "shadowing"],
	];

	it.each(patterns)(
		"streams a chat completion longer than timeoutMs whole and in order (%s)",
		async (pattern, overrides, weight, status) => {
			const name = uniqueName(`chat-${pattern}`);
			await deploy(name, weight, { ...chatBackends, ...overrides, timeoutMs: 50 }, status);
			for (let i = 0; i < 4; i++) expect(await streamed(client(name))).toBe(expected);
			const plain = await client(name).chat.completions.create({
				model: "any",
				messages: [{ role: "user", content: PROMPT }],
				max_tokens: WORDS,
			});
			expect(plain.choices[0]?.message.content).toBe(expected);
			expect(plain.usage).toMatchObject({ completion_tokens: WORDS });
		},
	);

	it("serves embeddings and Open Inference Protocol v2 requests", async () => {
		const name = uniqueName("chat-other");
		await deploy(name, 50, chatBackends);
		const embedded = await client(name).embeddings.create({ model: "any", input: ["a", "b"] });
		expect(embedded.data).toHaveLength(2);
		expect(embedded.data[0]?.embedding).toHaveLength(8);
		const res = await exports.default.fetch(`${ORIGIN}/v1/models/${name}/v2/models/summer/infer`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({
				inputs: [{ name: "x", shape: [3], datatype: "FP32", data: [1, 2, 3] }],
			}),
		});
		expect(await res.json()).toEqual({
			model_name: "summer",
			outputs: [{ name: "x_stats", shape: [2], datatype: "FP32", data: [6, 2] }],
		});
	});
});

describe("what an LLM answer leaves in the metrics", () => {
	it("records TTFT, duration, tokens, tokens per second and cost per minute and variant", async () => {
		const name = uniqueName("chat-metrics");
		await deploy(name, 100, {
			...chatBackends,
			candidate: { ...chatBackends.candidate, price: { inputPer1M: 1, outputPer1M: 3 } },
		});
		expect(await streamed(client(name))).toBe(expected);
		const t = await waitForRequests(name, 1);
		const answers = t.candidate.answers;
		expect(answers.completionTokens?.moments).toMatchObject({ n: 1, mean: WORDS });
		expect(answers.promptTokens?.moments.mean).toBe(4);
		expect(answers.cost?.moments.mean).toBeCloseTo((4 * 1 + WORDS * 3) / 1e6, 12);
		// The demo model waits 40 ms for its first token, then streams 400 tokens a second.
		const ttft = answers.ttft?.moments.mean ?? 0;
		const duration = answers.duration?.moments.mean ?? 0;
		expect(ttft).toBeGreaterThanOrEqual(40);
		expect(duration).toBeGreaterThan(ttft);
		expect(answers.tokensPerSecond?.moments.n).toBe(1);
		const { rows } = (await (
			await exports.default.fetch(`${ORIGIN}/admin/api/deployments/${name}/metrics`, {
				headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
			})
		).json()) as {
			rows: { variant: string; answers?: { ttft?: { p95: number }; cost?: number } }[];
		};
		const row = rows.find((r) => r.variant === "candidate");
		expect(row?.answers?.ttft?.p95).toBeGreaterThan(0);
		expect(row?.answers?.cost).toBeCloseTo((4 + WORDS * 3) / 1e6, 12);
	});

	it("counts a stream that breaks after the headers as a stream error of its variant", async () => {
		const name = uniqueName("chat-broken");
		await deploy(name, 100, {
			...chatBackends,
			candidate: { version: "chat-v2", service: "MODEL_CHAT_BROKEN" },
		});
		await expect(streamed(client(name))).rejects.toThrow();
		const t = await waitForRequests(name, 1);
		expect(t.candidate).toMatchObject({
			requests: 1,
			streamErrors: 1,
			errors5xx: 0,
			clientFaults: 0,
		});
	});
});

describe("guardrails on LLM answers", () => {
	it("aborts a canary whose candidate takes four times as long to its first token", async () => {
		const name = uniqueName("chat-slow-ttft");
		await deploy(
			name,
			50,
			{
				...chatBackends,
				candidate: { version: "chat-v2", service: "MODEL_CHAT_SLOW_TTFT" },
				strategy: "canary",
				// The median keeps the test short (a p95 needs about 200 answers an arm).
				canary: { steps: [50, 100], minRequests: 20, bakeSeconds: 3600, ttft: { quantile: 0.5 } },
				assignment: { unit: "header", header: "x-user-id" },
			},
			"running",
		);
		for (let batch = 0; batch < 8; batch++) {
			await Promise.all(
				Array.from({ length: 20 }, async (_, i) => {
					const stream = await client(name, {
						"x-user-id": `user-${batch}-${i}`,
					}).chat.completions.create({
						model: "any",
						messages: [{ role: "user", content: "hi" }],
						max_tokens: 2,
						stream: true,
					});
					for await (const _chunk of stream);
				}),
			);
		}
		await waitForRequests(name, 160);
		const result = await look(name);
		expect(result).toMatchObject({
			ok: true,
			state: { status: "aborted" },
			decision: { reason: expect.stringMatching(/ttft_p50 failed/) },
		});
	});
});

describe("shadow mode for streams", () => {
	it("compares the streamed answers' text and records agreement", async () => {
		const name = uniqueName("chat-shadow");
		await deploy(
			name,
			0,
			{ ...chatBackends, strategy: "shadow", shadow: { compare: { similarity: 0.9 } } },
			"shadowing",
		);
		for (let i = 0; i < 3; i++) expect(await streamed(client(name))).toBe(expected);
		const t = await waitForComparisons(name, 3);
		expect(t.shadow).toMatchObject({ compared: 3, agreed: 3 });
		const [sample] = await store(name).shadowSamples(1);
		expect(sample?.championOutput).toBe(expected);
		expect(sample?.candidateOutput).toBe(expected);
	});

	it("gives up on a candidate streaming past its budget, without delaying the user", async () => {
		const name = uniqueName("chat-shadow-long");
		await deploy(
			name,
			0,
			{
				...chatBackends,
				candidate: { version: "chat-v2", service: "MODEL_CHAT_LONG" },
				strategy: "shadow",
			},
			"shadowing",
		);
		// The candidate takes 80 s to finish; the user's answer (about 0.2 s) does not wait for it.
		expect(await streamed(client(name))).toBe(expected);
		const [sample] = await store(name)
			.shadowSamples(1)
			.then(async (s) => {
				if (s.length > 0) return s;
				await new Promise((resolve) => setTimeout(resolve, 1500));
				return store(name).shadowSamples(1);
			});
		expect(sample).toMatchObject({ agreed: null, reason: expect.stringMatching(/shadow budget/) });
		expect((await totals(name)).shadow.uncomparable).toBe(1);
	});
});

describe("Workers AI as a backend", () => {
	const ai = {
		champion: { version: "chat-v1", service: "MODEL_CHAT_V1" },
		candidate: {
			version: "llama",
			ai: { model: "@cf/meta/llama-3.1-8b-instruct", gateway: "gw-1" },
		},
	} satisfies Partial<DeploymentSpecInput>;

	it("answers OpenAI-compatible through the AI binding, plain and streamed, via the gateway", async () => {
		const name = uniqueName("chat-ai");
		await deploy(name, 100, ai);
		const text = "@cf/meta/llama-3.1-8b-instruct via gw-1: hello from workers ai";
		const plain = await client(name).chat.completions.create({
			model: "any",
			messages: [{ role: "user", content: "hi" }],
		});
		expect(plain.choices[0]?.message.content).toBe(text);
		expect(await streamed(client(name))).toBe(text);
		const t = await waitForRequests(name, 2);
		expect(t.candidate.answers.completionTokens?.moments).toMatchObject({ n: 2, mean: 7 });
	});

	it("answers a bad input as the client's 400 and a missing model as the variant's 5xx", async () => {
		const name = uniqueName("chat-ai-errors");
		await deploy(name, 100, { ...ai, fallback: false });
		const bad = await predict(name, {
			path: "/chat/completions",
			body: JSON.stringify({ messages: [] }),
		});
		expect(bad.status).toBe(400);
		expect(await bad.json()).toMatchObject({ error: { code: "invalid_request", ai_code: 5006 } });
		const broken = uniqueName("chat-ai-missing");
		await deploy(broken, 100, {
			...ai,
			fallback: false,
			candidate: { version: "missing", ai: { model: "@cf/missing/model" } },
		});
		const failed = await predict(broken, {
			path: "/chat/completions",
			body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
		});
		expect(failed.status).toBe(502);
		// The model's internals stay in the logs.
		expect(JSON.stringify(await failed.json())).not.toMatch(/No such model/);
		const [t, u] = await Promise.all([waitForRequests(name, 1), waitForRequests(broken, 1)]);
		expect(t.candidate).toMatchObject({
			requests: 1,
			clientFaults: 1,
			errors5xx: 0,
			networkErrors: 0,
		});
		expect(u.candidate).toMatchObject({ requests: 1, clientFaults: 0, errors5xx: 1 });
	});
});
