/**
 * `/admin/api/deployments/:name/{start,pause,resume,promote,abort,finalize,approve}`
 * and `PUT …/weight`: an operator's action, applied by the deployment's
 * object exactly like a controller transition (revision, audit log, KV).
 */
import { Hono } from "hono";
import { z } from "zod";
import { invalidateDeployment } from "../../config/cache";
import { DeploymentName, Weight } from "../../config/spec";
import { fail } from "../../errors";
import type { AdminAction } from "../../rollout/transitions";
import {
	type DeploymentEnv,
	type DeploymentHandle,
	effective,
	loadDeployment,
} from "../deployment";
import { body, params } from "../validate";

export const STATE_ACTIONS = [
	"start",
	"pause",
	"resume",
	"promote",
	"abort",
	"finalize",
	"approve",
] as const;

export const ActionBody = z.strictObject({
	/** Why, for the audit log. */
	reason: z.string().max(500).optional(),
	/** Optimistic concurrency: refuse when the rollout's revision differs. */
	revision: z.number().int().min(0).optional(),
});
export const WeightBody = ActionBody.extend({ weight: Weight });

async function apply(
	env: Env,
	{ name, object }: DeploymentHandle,
	action: AdminAction,
	input: z.output<typeof ActionBody>,
) {
	const now = Date.now();
	const result = await object.act({
		action,
		actor: "admin",
		reason: input.reason,
		now,
		expectedRevision: input.revision,
	});
	if (!result.ok) {
		const message =
			result.code === "deployment_not_found" ? `no deployment named "${name}"` : result.message;
		throw fail(result.code, message, { state: result.state });
	}
	invalidateDeployment(name);
	return { state: result.state, published: result.published, effective: effective(env, now) };
}

export const actions = new Hono<DeploymentEnv>()
	.post(
		"/:name/:action",
		loadDeployment,
		params(
			z.object({ name: DeploymentName, action: z.enum(STATE_ACTIONS) }),
			"not_found",
			(raw) => `unknown action "${raw.action}"; one of ${STATE_ACTIONS.join(", ")}`,
		),
		body(ActionBody),
		async (c) => {
			const { action } = c.req.valid("param");
			return c.json(await apply(c.env, c.var.deployment, { type: action }, c.req.valid("json")));
		},
	)
	.put("/:name/weight", loadDeployment, body(WeightBody), async (c) => {
		const input = c.req.valid("json");
		return c.json(
			await apply(c.env, c.var.deployment, { type: "weight", weight: input.weight }, input),
		);
	});
