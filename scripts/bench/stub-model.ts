/** The bench's model backend: answers at once with a fixed prediction. */
const ANSWER = JSON.stringify({ label: "positive", score: 0.91, version: "stub" });

export default {
	async fetch(request: Request): Promise<Response> {
		await request.arrayBuffer();
		return new Response(ANSWER, { headers: { "content-type": "application/json" } });
	},
} satisfies ExportedHandler;
