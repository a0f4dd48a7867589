/**
 * A test backend that holds every prediction until released: a shadow
 * candidate that provably has not answered yet. `GET /__gate/pending` says
 * how many requests it holds, `POST /__gate/release` lets them all answer.
 */
let waiting: (() => void)[] = [];

export default {
	async fetch(request: Request): Promise<Response> {
		const path = new URL(request.url).pathname;
		if (path === "/__gate/pending") return Response.json({ pending: waiting.length });
		if (path === "/__gate/release") {
			const released = waiting.length;
			for (const release of waiting) release();
			waiting = [];
			return Response.json({ released });
		}
		await new Promise<void>((resolve) => waiting.push(resolve));
		return Response.json({ label: "positive", score: 0.9 });
	},
} satisfies ExportedHandler;
