/** Worker entry: the Hono app, the cron trigger and the Durable Object classes. */
import { app } from "./app";

export default {
	fetch: app.fetch,
} satisfies ExportedHandler<Env>;
