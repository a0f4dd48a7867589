/**
 * `POST /v1/feedback` — `{ "requestId": "...", "value": number }` attributes an
 * outcome (a label match, a conversion 0/1, a reward) to the deployment and
 * the variant the request id names: the ASSIGNED variant (a fallback answered
 * by the champion still counts for the candidate, flagged), never a QA-pinned
 * request. Every check is made here, at once (4xx); the value is then queued
 * in this isolate's buffer like an observation (same flush rule, same loss
 * bound) and answered `202 Accepted`. It is de-duplicated exactly, once per
 * request id, in the ingest shard of the request's unit.
 *
 * Integrity: server to server by default (`Authorization: Bearer
 * <FEEDBACK_TOKEN>`); a spec with `feedback.public` also takes tokenless
 * feedback, rate-limited per client address (the FEEDBACK_LIMITER binding),
 * with at most one value per unit per minute of request. Values must fit the
 * spec's `feedback.kind`.
 */
import { Hono } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { z } from "zod";
import { loadDeployment } from "../config/cache";
import { settingsOf } from "../config/settings";
import type { FeedbackPolicy } from "../config/spec";
import { epochOf } from "../config/state";
import { HttpError } from "../errors";
import { shardOfUnit } from "../ingest/protocol";
import { clientKey } from "../lib/address";
import { signingKeys } from "../lib/keys";
import { queueFeedback } from "../metrics/recorder";
import { readBody } from "../request-body";
import { verifyRequestId } from "../routing/request-id";
import type { AppEnv } from "../types";

const DAY_MS = 24 * 60 * 60 * 1000;
const FeedbackBody = z.object({
	requestId: z.string().max(256),
	/** zod numbers are finite: NaN and ±Infinity are refused. */
	value: z.number(),
});

async function bearer(header: string | undefined, expected: string): Promise<boolean | null> {
	if (header === undefined) return null;
	const match = /^Bearer\s+(\S+)$/i.exec(header);
	return expected.length > 0 && match !== null && (await timingSafeEqual(match[1] ?? "", expected));
}

function checkValue(policy: FeedbackPolicy, value: number): void {
	if (policy.kind === "binary" && value !== 0 && value !== 1)
		throw new HttpError(400, "invalid_value", "value must be 0 or 1 for this deployment");
	if (policy.kind === "numeric" && (value < policy.min || value > policy.max))
		throw new HttpError(
			400,
			"invalid_value",
			`value must be within [${policy.min}, ${policy.max}] for this deployment`,
		);
}

/** The largest feedback body read. */
export const FEEDBACK_MAX_BYTES = 4096;

export const feedbackRoutes = new Hono<AppEnv>().post("/", async (c) => {
	const token = await bearer(c.req.header("authorization"), c.env.FEEDBACK_TOKEN ?? "");
	if (token === false)
		throw new HttpError(401, "unauthorized", "wrong feedback token", undefined, {
			"www-authenticate": 'Bearer realm="switchyard-feedback"',
		});
	if (token === null) {
		// Tokenless feedback is public feedback: limited per client before any work is done.
		const client = clientKey(c.req.header("cf-connecting-ip"));
		const { success } = await c.env.FEEDBACK_LIMITER.limit({ key: client });
		if (!success)
			throw new HttpError(429, "rate_limited", "too much feedback from this client; slow down");
	}
	// A feedback body is a few dozen bytes: read no more than FEEDBACK_MAX_BYTES of it.
	const raw = await readBody(c.req.raw, FEEDBACK_MAX_BYTES);
	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder().decode(raw ?? new ArrayBuffer(0)));
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
	const claims = await verifyRequestId(signingKeys(c.env), requestId);
	if (!claims)
		throw new HttpError(
			400,
			"invalid_request_id",
			"requestId is not a request id this edge issued",
		);
	const settings = settingsOf(c.env);
	if (Date.now() - claims.time > settings.FEEDBACK_WINDOW_DAYS * DAY_MS) {
		throw new HttpError(
			410,
			"request_id_expired",
			`feedback is accepted for ${settings.FEEDBACK_WINDOW_DAYS} days after a request`,
		);
	}
	if (claims.failed)
		throw new HttpError(
			422,
			"request_failed",
			"the request got an error, or was no prediction (a preflight, a HEAD): there is nothing to give feedback on",
		);
	const deployment = await loadDeployment(c.env.CONFIG, claims.deployment, {
		ttlMs: settings.CONFIG_TTL_SECONDS * 1000,
	});
	if (deployment.kind !== "ok")
		throw new HttpError(404, "deployment_not_found", "the request's deployment no longer exists");
	const policy = deployment.spec.feedback;
	if (token === null && !policy.public)
		throw new HttpError(
			401,
			"unauthorized",
			"this deployment takes feedback with its token only (Authorization: Bearer <FEEDBACK_TOKEN>)",
			undefined,
			{ "www-authenticate": 'Bearer realm="switchyard-feedback"' },
		);
	checkValue(policy, value);
	// Answered by the champion though assigned the candidate: a fallback, or a breaker's diversion.
	const fallback = claims.fallback || claims.diverted;
	const answer = { deployment: claims.deployment, variant: claims.assigned, fallback };
	if (claims.pinned)
		return c.json({ ...answer, queued: false, reason: "pinned by a QA override: not analysed" });
	const shards = deployment.spec.ingest.shards;
	// The rollout the request belongs to, by this isolate's cached state (where observations get theirs).
	const epoch = epochOf(deployment.state);
	const verdict = queueFeedback(c.env, c.executionCtx, claims.deployment, shards, {
		// The MAC: unique to the request id, so the de-duplication key.
		key: requestId.slice(-22),
		variant: claims.assigned,
		fallback,
		requestTime: claims.time,
		value,
		epoch: claims.time >= epoch ? epoch : 0,
		// Public feedback: one value per unit per minute of request.
		...(token === null ? { unit: claims.unit } : {}),
		shard: shardOfUnit(claims.unit, shards),
	});
	if (verdict === "full")
		throw new HttpError(
			503,
			"feedback_capacity",
			"feedback storage for this deployment is full; it frees up as old feedback ages out",
		);
	return c.json({ ...answer, queued: true }, 202);
});
