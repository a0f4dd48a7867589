/**
 * Fault-injection knobs shared by the demo models, read from their
 * environment: ERROR_RATE (0–1, share of requests answered with a 500) and
 * EXTRA_LATENCY_MS (added to every answer).
 */
export interface KnobEnv {
	ERROR_RATE?: string;
	EXTRA_LATENCY_MS?: string;
}

export interface ModelRequest {
	text: string;
}

export type Classify = (text: string) => { label: "positive" | "negative"; score: number };

/** A model worker: POST {"text": "..."} → {"label", "score"}, with the knobs applied. */
export function modelWorker(version: string, classify: Classify): ExportedHandler<KnobEnv> {
	return {
		async fetch(request, env) {
			const url = new URL(request.url);
			if (url.pathname.endsWith("/healthz")) return Response.json({ ok: true, version });
			if (request.method !== "POST") {
				return Response.json(
					{ error: { code: "method_not_allowed", message: 'POST JSON {"text": "..."}' } },
					{ status: 405 },
				);
			}
			const extra = Number(env.EXTRA_LATENCY_MS ?? 0);
			if (extra > 0) await new Promise((resolve) => setTimeout(resolve, extra));
			if (Math.random() < Number(env.ERROR_RATE ?? 0)) {
				return Response.json(
					{ error: { code: "injected_failure", message: `${version} failed on purpose` } },
					{ status: 500 },
				);
			}
			let input: unknown;
			try {
				input = await request.json();
			} catch {
				return badRequest("the body is not JSON");
			}
			if (
				typeof input !== "object" ||
				input === null ||
				typeof (input as ModelRequest).text !== "string"
			) {
				return badRequest('expected {"text": "..."}');
			}
			return Response.json({ ...classify((input as ModelRequest).text), version });
		},
	};
}

function badRequest(message: string): Response {
	return Response.json({ error: { code: "invalid_input", message } }, { status: 400 });
}

/** Lowercase word tokens, keeping negations such as "n't" as "not". */
export function tokenize(text: string): string[] {
	return text
		.toLowerCase()
		.replace(/n't\b/g, " not")
		.split(/[^a-z']+/)
		.filter((token) => token.length > 0);
}
