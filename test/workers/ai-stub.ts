/**
 * A stand-in for the Workers AI binding (remote-only, so never in tests): a
 * worker bound as `AI` whose `run` answers over RPC like Workers AI does —
 * `{response, usage}`, or an SSE stream of `data: {"response": …}` events for
 * `stream: true` — and says which model and gateway it was asked for.
 * `@cf/test/hang` holds its answer until `@cf/test/release` is run (a model
 * that never answers in time, without a timer left behind); `@cf/test/crash`
 * fails without a Workers AI error code.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

const encoder = new TextEncoder();
let held: (() => void)[] = [];

export class AiStub extends WorkerEntrypoint {
	async run(
		model: string,
		inputs: { messages?: { content?: string }[]; stream?: boolean },
		options?: { gateway?: { id?: string } },
	): Promise<unknown> {
		if (model === "@cf/test/release") {
			const released = held.length;
			for (const release of held) release();
			held = [];
			return { released };
		}
		if (model === "@cf/test/hang")
			// A timer keeps the call pending (a promise alone would be a hung call to the runtime);
			// the release ends it at once.
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, 60_000);
				held.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		if (model === "@cf/test/crash") throw new Error("the model's host went away");
		// Errors as Workers AI throws them: "<code>: <message>".
		if (model === "@cf/missing/model")
			throw new Error("5007: No such model @cf/missing/model or task");
		if (inputs.messages?.length === 0)
			throw new Error(
				"5006: Error: oneOf at '/' not met, 0 matches: required properties at '/' are 'messages'",
			);
		const words = [
			`${model}`,
			`via`,
			`${options?.gateway?.id ?? "no-gateway"}:`,
			"hello",
			"from",
			"workers",
			"ai",
		];
		const usage = { prompt_tokens: inputs.messages?.length ?? 0, completion_tokens: words.length };
		if (!inputs.stream) return { response: words.join(" "), usage };
		return new ReadableStream<Uint8Array>({
			start(controller) {
				for (const [i, word] of words.entries())
					controller.enqueue(
						encoder.encode(
							`data: ${JSON.stringify({ response: i === 0 ? word : ` ${word}` })}\n\n`,
						),
					);
				controller.enqueue(encoder.encode(`data: ${JSON.stringify({ response: "", usage })}\n\n`));
				controller.enqueue(encoder.encode("data: [DONE]\n\n"));
				controller.close();
			},
		});
	}
}

export default {
	fetch: () => new Response("the AI stand-in answers over RPC (env.AI.run)"),
} satisfies ExportedHandler;
