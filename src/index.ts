/** Worker entry: the Hono app, the cron trigger and the Durable Object classes. */
import { app } from "./app";

export { MetricsStore } from "./metrics/metrics-store";

export default {
	fetch: app.fetch,
} satisfies ExportedHandler<Env>;
