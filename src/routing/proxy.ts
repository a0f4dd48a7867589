/**
 * The prediction path: unit → variant → backend, with fallback, shadow copies
 * and the response headers of the contract. Metrics and shadow work go to
 * ctx.waitUntil; the user's response waits only for the backend it is served by.
 */
import type { Context } from "hono";
import type { Settings } from "../config/settings";
import type { DeploymentSpec } from "../config/spec";
import { saltOf } from "../config/spec";
import type { KvRolloutState } from "../config/state";
import { epochOf, routingOf } from "../config/state";
import { HttpError } from "../errors";
import type { Observation, Recorder } from "../metrics/observation";
import { completeShadow } from "../shadow/run";
import type { AppEnv } from "../types";
import { assignVariant, type Variant } from "./assign";
import { type Breaker, breakerStats } from "./breaker";
import {
	type BackendResult,
	callBackend,
	callBackendForText,
	type ForwardInit,
	type RequestTarget,
	readText,
	resolveUpstream,
} from "./forward";
import { forwardHeaders } from "./headers";
import { variantOverride } from "./override";
import { signRequestId } from "./request-id";
import { UNIT_COOKIE, unitCookie, unitOf } from "./unit";

export interface PredictionInput {
	spec: DeploymentSpec;
	state: KvRolloutState;
	/** The part of the path after /v1/models/<name>. */
	restPath: string;
	/** The request URL's origin, path and query. */
	target: RequestTarget;
	settings: Settings;
	recorder: Recorder;
	/** This isolate's breaker on the candidate: open, it stops assigning the candidate. */
	breaker: Breaker;
}

interface PreparedBody {
	body: ArrayBuffer | ReadableStream | null;
	/** Buffered, so it can be sent again (fallback, shadow copy). */
	replayable: boolean;
}

export async function proxyPrediction(
	c: Context<AppEnv>,
	input: PredictionInput,
): Promise<Response> {
	const { spec, state, settings, recorder, target } = input;
	const request = c.req.raw;
	const env = c.env;
	const time = Date.now();
	const routing = routingOf(spec, state);
	const unit = await unitOf(c, spec.assignment, env.SIGNING_KEY);
	const override = await variantOverride(request.headers, env.ADMIN_TOKEN);
	// Requests pinned by a QA override are recorded at threshold -1, outside every analysis window.
	const segment = {
		threshold: override !== null ? -1 : routing.mode === "split" ? routing.threshold : 0,
		epoch: epochOf(state),
	};
	const assigned: Variant =
		override ??
		(routing.mode === "split"
			? assignVariant(saltOf(spec), unit.id, routing.threshold, spec.assignment.hashVersion)
			: "champion");

	const shadowing = routing.mode === "shadow" && override === null;
	// An open breaker diverts the candidate's units to the champion, before any call.
	const diverted = assigned === "candidate" && override === null && input.breaker.open;
	const mayFallBack = assigned === "candidate" && spec.fallback && override === null && !diverted;
	// Only a body that may be sent twice (fallback, shadow copy) is buffered; the rest streams.
	const prepared = await prepareBody(request, spec.maxBodyBytes, shadowing || mayFallBack);
	const init: ForwardInit = {
		method: request.method,
		headers: forwardHeaders(request.headers, {
			cookieName: UNIT_COOKIE,
			dropAuthorization: override !== null,
		}),
		body: prepared.body,
	};
	const send = (variant: Variant) => {
		const upstream = resolveUpstream(
			spec[variant],
			env,
			input.restPath,
			target.search,
			target.origin,
		);
		if ("error" in upstream) return Promise.resolve(missingBinding(upstream.error));
		return callBackend(upstream, init, spec.timeoutMs);
	};

	const copyToShadow = shadowing && prepared.replayable && Math.random() < routing.sampleRate;
	const shadowCall = copyToShadow ? startShadowCall(c, input, init, segment.epoch) : undefined;

	let served: Variant = diverted ? "champion" : assigned;
	let result = await send(served);
	let fallback = false;
	if (assigned === "candidate" && override === null && !diverted) {
		if (input.breaker.record(Date.now(), result.outcome !== "ok")) {
			breakerStats.trips += 1;
			console.error(
				JSON.stringify({ level: "error", event: "breaker_opened", deployment: spec.name }),
			);
		}
	}
	if (diverted) {
		breakerStats.diverted += 1;
		recorder.observe({
			...observation(spec.name, "candidate", segment, time, result, false),
			diverted: true,
		});
	} else if (mayFallBack && result.outcome !== "ok" && prepared.replayable) {
		recorder.observe(observation(spec.name, "candidate", segment, time, result, true));
		result = await send("champion");
		served = "champion";
		fallback = true;
	} else {
		recorder.observe({
			...observation(spec.name, assigned, segment, time, result, false),
			...(shadowing && !prepared.replayable ? { shadowSkipped: true } : {}),
		});
	}

	const own: Record<string, string> = {
		"x-model-variant": served,
		"x-model-version": spec[served].version,
		"x-request-id": await signRequestId(env.SIGNING_KEY, {
			deployment: spec.name,
			variant: served,
			time,
		}),
	};
	if (fallback) own["x-switchyard-fallback"] = "1";
	else if (diverted) own["x-switchyard-fallback"] = "breaker";
	if (unit.fresh) own["set-cookie"] = await unitCookie(unit.id, env.SIGNING_KEY, target.secure);

	const response = result.response;
	if (!response) {
		if (shadowCall)
			c.executionCtx.waitUntil(shadowCall.finish(Promise.resolve(null), result.latencyMs));
		const timedOut = result.outcome === "timeout";
		throw new HttpError(
			timedOut ? 504 : 502,
			timedOut ? "backend_timeout" : "backend_unavailable",
			`the ${served} backend did not answer: ${result.error ?? result.outcome}`,
			undefined,
			own,
		);
	}

	let body: BodyInit | null = response.body;
	if (shadowCall) {
		const { forClient, forComparison } = await splitForComparison(
			response,
			settings.SHADOW_COMPARE_BYTES,
			spec.timeoutMs,
		);
		body = forClient;
		c.executionCtx.waitUntil(shadowCall.finish(forComparison, result.latencyMs));
	}
	// One copy of the backend's response (its headers are immutable), then Switchyard's headers.
	const out = new Response(body, response);
	for (const name in own) {
		if (name === "set-cookie") out.headers.append(name, own[name] as string);
		else out.headers.set(name, own[name] as string);
	}
	return out;
}

/** Starts the candidate's copy now, in parallel with the champion; finishing it is background work. */
function startShadowCall(
	c: Context<AppEnv>,
	input: PredictionInput,
	init: ForwardInit,
	epoch: number,
) {
	const { spec, settings, recorder, target } = input;
	const time = Date.now();
	const body = init.body instanceof ArrayBuffer ? init.body : null;
	const upstream = resolveUpstream(
		spec.candidate,
		c.env,
		input.restPath,
		target.search,
		target.origin,
	);
	const candidate =
		"error" in upstream
			? Promise.resolve(missingBinding(upstream.error))
			: callBackendForText(
					upstream,
					{ ...init, headers: new Headers(init.headers), body },
					spec.timeoutMs,
					settings.SHADOW_COMPARE_BYTES,
				);
	return {
		finish: (
			championText: Promise<{ text: string; truncated: boolean } | null>,
			championLatencyMs: number,
		) =>
			completeShadow(
				{
					deployment: spec.name,
					time,
					epoch,
					comparison: spec.shadow.compare,
					candidate,
					championText,
					championLatencyMs,
					body,
					sampleBytes: settings.SHADOW_SAMPLE_BYTES,
				},
				recorder,
			).catch((error) => {
				console.error(
					JSON.stringify({
						level: "error",
						event: "shadow_failed",
						deployment: spec.name,
						message: String(error),
					}),
				);
			}),
	};
}

/**
 * Shares the champion's body between the user and the shadow comparison.
 * Bodies up to `maxBytes` are read once and served from memory (model
 * answers are small); a larger body is served as what was read followed by
 * the rest of the stream, and is not compared. Event streams are teed
 * instead, so streaming answers keep streaming; their comparison gives up
 * after `timeoutMs`, so a client that never reads cannot hold it open.
 */
async function splitForComparison(
	response: Response,
	maxBytes: number,
	timeoutMs: number,
): Promise<{
	forClient: BodyInit | null;
	forComparison: Promise<{ text: string; truncated: boolean } | null>;
}> {
	const source = response.body;
	if (!source)
		return { forClient: null, forComparison: Promise.resolve({ text: "", truncated: false }) };
	if ((response.headers.get("content-type") ?? "").includes("text/event-stream")) {
		const [forClient, toCompare] = source.tee();
		const deadline = new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs));
		return {
			forClient,
			forComparison: Promise.race([readText(new Response(toCompare), maxBytes), deadline]),
		};
	}
	const reader = source.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) {
			const bytes = concat(chunks, size);
			return {
				forClient: bytes,
				forComparison: Promise.resolve({ text: new TextDecoder().decode(bytes), truncated: false }),
			};
		}
		chunks.push(value);
		size += value.byteLength;
		if (size > maxBytes) break;
	}
	const rest = new ReadableStream<Uint8Array>({
		start(controller) {
			for (const chunk of chunks) controller.enqueue(chunk);
		},
		async pull(controller) {
			const { done, value } = await reader.read();
			if (done) controller.close();
			else controller.enqueue(value);
		},
		cancel(reason) {
			return reader.cancel(reason);
		},
	});
	return { forClient: rest, forComparison: Promise.resolve({ text: "", truncated: true }) };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
	const bytes = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return bytes;
}

async function prepareBody(
	request: Request,
	maxBytes: number,
	replay: boolean,
): Promise<PreparedBody> {
	if (request.body === null || request.method === "GET" || request.method === "HEAD") {
		return { body: null, replayable: true };
	}
	if (!replay) return { body: request.body, replayable: false };
	const declared = request.headers.get("content-length");
	const length = declared === null ? Number.NaN : Number(declared);
	if (Number.isFinite(length) && length <= maxBytes)
		return { body: await request.arrayBuffer(), replayable: true };
	return { body: request.body, replayable: false };
}

function observation(
	deployment: string,
	variant: Variant,
	segment: { threshold: number; epoch: number },
	time: number,
	result: BackendResult,
	fallback: boolean,
): Observation {
	return {
		deployment,
		variant,
		threshold: segment.threshold,
		epoch: segment.epoch,
		time,
		outcome: result.outcome,
		status: result.status,
		latencyMs: result.latencyMs,
		fallback,
	};
}

function missingBinding(error: string): BackendResult {
	return { outcome: "network", status: 0, latencyMs: 0, error };
}
