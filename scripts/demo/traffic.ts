/**
 * Simulated visitors for the demo: each has a cookie jar, most come back,
 * they post sentences to a deployment and send feedback (did the model get
 * the label right?) for a share of the answers.
 */
export const SENTENCES: { text: string; label: "positive" | "negative" }[] = [
	{ text: "What a great little app, I love it", label: "positive" },
	{ text: "This is terrible and slow", label: "negative" },
	{ text: "Not good at all", label: "negative" },
	{ text: "Not bad, actually quite nice", label: "positive" },
	{ text: "The update is brilliant and fast", label: "positive" },
	{ text: "I hate how often it crashes", label: "negative" },
	{ text: "Never disappointing, always helpful", label: "positive" },
	{ text: "Useless support and a broken checkout", label: "negative" },
	{ text: "I would recommend it to friends", label: "positive" },
	{ text: "Honestly not great, kind of boring", label: "negative" },
	{ text: "Perfect for my team, we enjoyed it", label: "positive" },
	{ text: "I want a refund, this failed twice", label: "negative" },
	{ text: "Smooth and solid experience", label: "positive" },
	{ text: "Hardly helpful and the design is ugly", label: "negative" },
	{ text: "An amazing, wonderful day", label: "positive" },
	{ text: "It is not fun anymore", label: "negative" },
];

export interface TrafficStats {
	requests: number;
	served: { champion: number; candidate: number };
	fallbacks: number;
	errors: number;
	feedback: number;
	visitors: number;
	/** Visitors that were ever assigned to the candidate (served by it, or fell back from it). */
	visitorsOnCandidate: number;
}

interface Visitor {
	cookie?: string;
	sawCandidate: boolean;
}

export interface TrafficOptions {
	url: string;
	deployment: string;
	/** Requests in flight at once. */
	concurrency: number;
	/** Share of requests from a new visitor (the rest are returning visitors). */
	newVisitorShare: number;
	/** Share of answers that get feedback. */
	feedbackShare: number;
	/** Sent as `Authorization: Bearer …` with each feedback (server-to-server feedback). */
	feedbackToken: string;
	/** "chat": streamed OpenAI-compatible chat completions instead of sentiment predictions. */
	kind?: "sentiment" | "chat";
}

/** Sends traffic until `stop()` is called; `stats` grow as answers arrive. */
export function startTraffic(options: TrafficOptions) {
	const visitors: Visitor[] = [];
	const stats: TrafficStats = {
		requests: 0,
		served: { champion: 0, candidate: 0 },
		fallbacks: 0,
		errors: 0,
		feedback: 0,
		visitors: 0,
		visitorsOnCandidate: 0,
	};
	let running = true;
	let random = 12345;
	const next = () => {
		random = (random * 1103515245 + 12345) % 2147483648;
		return random / 2147483648;
	};

	async function one(): Promise<void> {
		const fresh = visitors.length === 0 || next() < options.newVisitorShare;
		const visitor: Visitor = fresh
			? { sawCandidate: false }
			: (visitors[Math.floor(next() * visitors.length)] as Visitor);
		if (fresh) {
			visitors.push(visitor);
			stats.visitors = visitors.length;
		}
		const sentence = SENTENCES[Math.floor(next() * SENTENCES.length)] as (typeof SENTENCES)[number];
		const chat = options.kind === "chat";
		let res: Response;
		try {
			res = await fetch(
				`${options.url}/v1/models/${options.deployment}/${chat ? "v1/chat/completions" : "predict"}`,
				{
					method: "POST",
					headers: {
						"content-type": "application/json",
						...(visitor.cookie ? { cookie: visitor.cookie } : {}),
					},
					body: JSON.stringify(
						chat
							? {
									model: "demo",
									messages: [{ role: "user", content: sentence.text }],
									max_tokens: 4,
									stream: true,
								}
							: { text: sentence.text },
					),
				},
			);
		} catch {
			stats.errors += 1;
			return;
		}
		stats.requests += 1;
		const cookie = res.headers.getSetCookie().find((c) => c.startsWith("sy_uid="));
		if (cookie) visitor.cookie = cookie.split(";")[0];
		const variant = res.headers.get("x-model-variant");
		const fellBack = res.headers.get("x-switchyard-fallback") === "1";
		if (variant === "candidate" || variant === "champion") stats.served[variant] += 1;
		if (fellBack) stats.fallbacks += 1;
		if ((variant === "candidate" || fellBack) && !visitor.sawCandidate) {
			visitor.sawCandidate = true;
			stats.visitorsOnCandidate += 1;
		}
		if (!res.ok) {
			stats.errors += 1;
			await res.arrayBuffer();
			return;
		}
		if (chat) {
			// Read the whole stream, as a chat client would.
			await res.arrayBuffer().catch(() => {
				stats.errors += 1;
			});
			return;
		}
		const answer = (await res.json()) as { label?: string };
		const requestId = res.headers.get("x-request-id");
		if (requestId && next() < options.feedbackShare) {
			const value = answer.label === sentence.label ? 1 : 0;
			const feedback = await fetch(`${options.url}/v1/feedback`, {
				method: "POST",
				headers: {
					"content-type": "application/json",
					authorization: `Bearer ${options.feedbackToken}`,
				},
				body: JSON.stringify({ requestId, value }),
			}).catch(() => null);
			if (feedback?.ok) stats.feedback += 1;
			await feedback?.arrayBuffer();
		}
	}

	const loops = Array.from({ length: options.concurrency }, async () => {
		while (running) await one();
	});
	return {
		stats,
		async stop() {
			running = false;
			await Promise.all(loops);
		},
	};
}
