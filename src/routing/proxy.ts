/**
 * The prediction path, in three steps: plan (plan.ts, pure: who answers,
 * whether to shadow, what to record), call with fallback (call.ts), respond
 * (respond.ts). This module reads what the plan needs from the request (the
 * unit, a QA override, the body) and runs the steps in order. Metrics and
 * shadow work go to ctx.waitUntil; the user's response waits only for the
 * backend it is served by.
 */
import type { KvRolloutState } from "../config/state";
import { signingKeys } from "../lib/keys";
import { readBody } from "../request-body";
import { startShadowCall } from "../shadow/copy";
import { callWithFallback } from "./call";
import { forwardHeaders } from "./headers";
import { variantOverride } from "./override";
import { planRequest } from "./plan";
import { type RespondContext, refuseUpload, respond } from "./respond";
import { UNIT_COOKIE, unitOf } from "./unit";

/** The worker's bindings and secrets; backends and their credentials are looked up by name. */
export interface PredictionEnv {
	ADMIN_TOKEN: string;
	FEEDBACK_TOKEN: string;
	SIGNING_KEY?: string;
	SIGNING_KEYS?: string;
}

/** Everything a prediction needs, as plain values: the route hands it over. */
export interface PredictionInput extends RespondContext {
	env: PredictionEnv;
	state: KvRolloutState;
}

export async function proxyPrediction(input: PredictionInput): Promise<Response> {
	const { request, env, spec, target } = input;
	const keys = signingKeys(env);
	const time = Date.now();
	const plan = planRequest({
		spec,
		state: input.state,
		unit: await unitOf(request.headers, spec.assignment, keys),
		override: await variantOverride(request.headers, env.ADMIN_TOKEN),
		breakerOpen: input.breaker.open,
		method: request.method,
		draw: Math.random(),
		time,
	});

	// The whole body first: a slow, broken or oversized upload is the client's fault, never a
	// backend's timeout, and a body in hand can be replayed (fallback, shadow copy).
	let body: ArrayBuffer | null;
	try {
		body = await readBody(request, spec.maxBodyBytes);
	} catch (error) {
		throw await refuseUpload(plan, input, keys, error);
	}
	const init = {
		method: request.method,
		headers: forwardHeaders(request.headers, {
			cookieName: UNIT_COOKIE,
			secrets: [env.ADMIN_TOKEN, env.FEEDBACK_TOKEN],
			forwarded: {
				clientIp: request.headers.get("cf-connecting-ip"),
				proto: target.secure ? "https" : "http",
				host: hostOf(target.origin),
			},
		}),
		body,
		clientSignal: request.signal,
	};
	const shadow = plan.shadow ? startShadowCall(input, init, plan.segment.epoch) : undefined;
	const result = await callWithFallback(plan, input, init);
	return respond(plan, input, result, shadow, keys);
}

function hostOf(origin: string): string {
	return origin.slice(origin.indexOf("//") + 2);
}
