/** Worker entry: the Hono app, the cron trigger and the Durable Object classes. */
import { app } from "./app";
import { runController } from "./deployment/cron";

export { DeploymentObject } from "./deployment/object";
export { IngestShard } from "./ingest/shard";

export default {
	fetch: app.fetch,
	async scheduled(controller, env, _ctx) {
		await runController(env, controller.scheduledTime);
	},
} satisfies ExportedHandler<Env>;
