/**
 * `POST /v1/feedback` — `{ "requestId": "...", "value": number }` attributes an
 * outcome (a label match, a conversion 0/1, a reward) to the deployment and
 * variant encoded in the signed request id. Idempotent per request id.
 */
import { Hono } from "hono";
import { z } from "zod";
import { settingsOf } from "../config/settings";
import { HttpError } from "../errors";
import { verifyRequestId } from "../routing/request-id";
import type { AppEnv } from "../types";

const DAY_MS = 24 * 60 * 60 * 1000;
const FeedbackBody = z.object({
	requestId: z.string().max(256),
	/** zod numbers are finite: NaN and ±Infinity are refused. */
	value: z.number(),
});

export const feedbackRoutes = new Hono<AppEnv>().post("/", async (c) => {
	let body: unknown;
	try {
		body = await c.req.json();
	} catch {
		throw new HttpError(
			400,
			"invalid_request",
			'the body must be JSON: {"requestId": "...", "value": number}',
		);
	}
	const parsed = FeedbackBody.safeParse(body);
	if (!parsed.success) {
		const fields = new Set(parsed.error.issues.map((issue) => issue.path[0]));
		if (fields.has("requestId"))
			throw new HttpError(
				400,
				"invalid_request_id",
				"requestId must be the x-request-id of a prediction",
			);
		if (fields.has("value"))
			throw new HttpError(400, "invalid_value", "value must be a finite number");
		throw new HttpError(
			400,
			"invalid_request",
			'the body must be a JSON object: {"requestId": "...", "value": number}',
		);
	}
	const { requestId, value } = parsed.data;
	const claims = await verifyRequestId(c.env.SIGNING_KEY, requestId);
	if (!claims)
		throw new HttpError(
			400,
			"invalid_request_id",
			"requestId is not a request id this edge issued",
		);
	const windowDays = settingsOf(c.env).FEEDBACK_WINDOW_DAYS;
	if (Date.now() - claims.time > windowDays * DAY_MS) {
		throw new HttpError(
			410,
			"request_id_expired",
			`feedback is accepted for ${windowDays} days after a request`,
		);
	}
	let duplicate: boolean;
	try {
		({ duplicate } = await c.env.DEPLOYMENT.getByName(claims.deployment).recordFeedback({
			requestId,
			variant: claims.variant,
			requestTime: claims.time,
			value,
		}));
	} catch (error) {
		console.error(
			JSON.stringify({
				level: "error",
				event: "feedback_failed",
				deployment: claims.deployment,
				message: String(error),
			}),
		);
		throw new HttpError(
			503,
			"metrics_unavailable",
			"feedback could not be stored; retry (feedback is idempotent)",
		);
	}
	return c.json({
		accepted: !duplicate,
		duplicate,
		deployment: claims.deployment,
		variant: claims.variant,
	});
});
