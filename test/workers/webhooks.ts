/**
 * A test webhook receiver: records every delivery it gets (keyed by the
 * deployment in `x-switchyard-delivery`), and fails on request.
 * `POST /__hooks/fail?key=<deployment>&times=N` answers the next N
 * deliveries for that key with 503 (-1: until told otherwise, 0: stop);
 * `GET /__hooks/received?key=<deployment>` lists what arrived.
 */
interface Received {
	delivery: string;
	event: string | null;
	signature: string | null;
	contentType: string | null;
	body: string;
	answered: number;
}

const received = new Map<string, Received[]>();
const failures = new Map<string, number>();

export default {
	async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		const key = url.searchParams.get("key") ?? "";
		if (url.pathname === "/__hooks/fail") {
			failures.set(key, Number(url.searchParams.get("times") ?? "1"));
			return Response.json({ key, failing: failures.get(key) });
		}
		if (url.pathname === "/__hooks/received") return Response.json(received.get(key) ?? []);
		const delivery = request.headers.get("x-switchyard-delivery") ?? "";
		const deployment = delivery.split("/")[0] ?? "";
		const left = failures.get(deployment) ?? 0;
		const answered = left !== 0 ? 503 : 204;
		if (left > 0) failures.set(deployment, left - 1);
		const list = received.get(deployment) ?? [];
		list.push({
			delivery,
			event: request.headers.get("x-switchyard-event"),
			signature: request.headers.get("x-switchyard-signature"),
			contentType: request.headers.get("content-type"),
			body: await request.text(),
			answered,
		});
		received.set(deployment, list);
		return new Response(null, { status: answered });
	},
} satisfies ExportedHandler;
