/**
 * The prediction path: unit → variant → backend, with fallback, shadow copies
 * and the response headers of the contract. Metrics and shadow work go to
 * ctx.waitUntil; the user's response waits only for the backend it is served by.
 */
import type { Context } from "hono";
import type { Settings } from "../config/settings";
import type { Backend, DeploymentSpec } from "../config/spec";
import { saltOf } from "../config/spec";
import type { KvRolloutState } from "../config/state";
import { epochOf, routingOf } from "../config/state";
import { HttpError } from "../errors";
import { signingKeys } from "../lib/keys";
import { logError as log } from "../lib/log";
import { type AnswerStats, answerStats } from "../llm/answer";
import type { Observation, Recorder } from "../metrics/observation";
import { readBody } from "../request-body";
import { completeShadow, type ShadowCopy } from "../shadow/run";
import type { AppEnv } from "../types";
import { assignVariant, type Variant } from "./assign";
import {
	type BodyReport,
	BUFFER_WHOLE_BYTES,
	bufferWhole,
	copyWhole,
	drain,
	monitorBody,
	readWhole,
} from "./body-monitor";
import { type Breaker, breakerStats } from "./breaker";
import {
	type BackendResult,
	callBackend,
	type ForwardInit,
	isEventStream,
	isStreaming,
	isVariantFault,
	type Outcome,
	type RequestTarget,
	resolveUpstream,
} from "./forward";
import { forwardHeaders } from "./headers";
import { variantOverride } from "./override";
import { signRequestId, unitTag } from "./request-id";
import { UNIT_COOKIE, unitCookie, unitOf } from "./unit";

export interface PredictionInput {
	spec: DeploymentSpec;
	state: KvRolloutState;
	/** The raw part of the path after /v1/models/<name>, forwarded byte for byte. */
	restPath: string;
	/** The request URL's origin, path and query. */
	target: RequestTarget;
	settings: Settings;
	recorder: Recorder;
	/** This isolate's breaker on the candidate: open, it stops assigning the candidate. */
	breaker: Breaker;
}

const UNRECORDED: Recorder = { observe() {}, compare() {}, wantsSample: () => false };

export async function proxyPrediction(
	c: Context<AppEnv>,
	input: PredictionInput,
): Promise<Response> {
	const { spec, state, settings, target } = input;
	const request = c.req.raw;
	// A preflight or a HEAD passes through but is no prediction: it counts for nothing.
	const predicting = request.method !== "OPTIONS" && request.method !== "HEAD";
	const recorder = predicting ? input.recorder : UNRECORDED;
	const env = c.env;
	const keys = signingKeys(env);
	const time = Date.now();
	const routing = routingOf(spec, state);
	const unit = await unitOf(c, spec.assignment, keys);
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
	const shadowing = routing.mode === "shadow" && override === null && predicting;
	// An open breaker diverts the candidate's units to the champion, before any call.
	const diverted = assigned === "candidate" && override === null && input.breaker.open;
	const mayFallBack = assigned === "candidate" && spec.fallback && override === null && !diverted;
	const claims = {
		deployment: spec.name,
		assigned,
		fallback: false,
		diverted,
		pinned: override !== null,
		failed: false,
		time,
		unit: unitTag(unit.id),
	};
	const own = async (served: Variant): Promise<Record<string, string>> => {
		const headers: Record<string, string> = {
			"x-model-variant": served,
			"x-model-version": spec[served].version,
			"x-request-id": await signRequestId(keys, claims),
		};
		if (claims.fallback) headers["x-switchyard-fallback"] = "1";
		else if (diverted) headers["x-switchyard-fallback"] = "breaker";
		if (unit.fresh) headers["set-cookie"] = await unitCookie(unit.id, keys, target.secure);
		return headers;
	};

	// The whole body first: a slow, broken or oversized upload is the client's fault, never a
	// backend's timeout, and a body in hand can be replayed (fallback, shadow copy).
	const body = await readBody(request, spec.maxBodyBytes).catch(async (error: unknown) => {
		const fault = error instanceof HttpError ? error : clientClosed();
		// No backend answered: no status, no latency.
		const none: BackendResult = { outcome: "client", startedAt: time, status: 0, latencyMs: 0 };
		recorder.observe(observation(spec.name, assigned, segment, time, none, false));
		claims.failed = true;
		throw new HttpError(fault.status, fault.code, fault.message, undefined, {
			"x-request-id": await signRequestId(keys, claims),
		});
	});
	const init: ForwardInit = {
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

	const copyToShadow =
		shadowing && Math.random() < (routing.mode === "shadow" ? routing.sampleRate : 0);
	const shadowCall = copyToShadow ? startShadowCall(c, input, init, segment.epoch) : undefined;

	let served: Variant = diverted ? "champion" : assigned;
	let result = await send(served);
	// The breaker watches the candidate's own requests; a client's fault tells it nothing.
	const breakerSees = (outcome: Outcome) => {
		if (!predicting || assigned !== "candidate" || override !== null || diverted) return;
		if (outcome === "client") return;
		if (input.breaker.record(Date.now(), isVariantFault(outcome))) {
			breakerStats.trips += 1;
			log("breaker_opened", { deployment: spec.name });
		}
	};
	if (diverted) {
		breakerStats.diverted += 1;
		recorder.observe({
			...observation(spec.name, "candidate", segment, time, result, false),
			diverted: true,
		});
	} else if (mayFallBack && isVariantFault(result.outcome)) {
		breakerSees(result.outcome);
		recorder.observe(observation(spec.name, "candidate", segment, time, result, true));
		// The failed answer's body is never read: release its connection.
		void result.response?.body?.cancel().catch(() => {});
		result = await send("champion");
		served = "champion";
		claims.fallback = true;
	}
	// The answer served is the assigned variant's own (no fallback, no breaker): it is observed
	// once complete, with what its body showed.
	const ownAnswer = !diverted && !claims.fallback;
	const observeOwn = (final: BackendResult, answer?: AnswerStats) => {
		if (!ownAnswer) return;
		breakerSees(final.outcome);
		recorder.observe({
			...observation(spec.name, assigned, segment, time, final, false),
			...(answer ? { answer } : {}),
		});
	};

	// An error (from Switchyard or the backend), a preflight or a HEAD is no answer anyone can
	// give feedback on.
	claims.failed = !predicting || result.outcome !== "ok";
	const headers = await own(served);
	const response = result.response;
	if (!response) {
		observeOwn(result);
		if (shadowCall)
			c.executionCtx.waitUntil(shadowCall.finish(Promise.resolve(null), result.latencyMs));
		// Internals (which binding, which error) go to the logs, not to the client.
		log("backend_failed", {
			deployment: spec.name,
			variant: served,
			outcome: result.outcome,
			requestId: headers["x-request-id"],
			message: result.error,
		});
		if (result.outcome === "client") throw withHeaders(clientClosed(), headers);
		const timedOut = result.outcome === "timeout";
		throw new HttpError(
			timedOut ? 504 : 502,
			timedOut ? "backend_timeout" : "backend_unavailable",
			timedOut ? "the model did not answer in time" : "the model could not be reached",
			undefined,
			headers,
		);
	}

	const backend = spec[served];
	const watching = watchAnswer(response, result, {
		spec,
		backend,
		captureChars: shadowCall ? settings.SHADOW_COMPARE_BYTES : 0,
		clientSignal: request.signal,
	});
	const watched = watching instanceof Promise ? await watching : watching;
	if (watched) {
		c.executionCtx.waitUntil(
			watched.done.then((report) => {
				const final = report.outcome === "ok" ? result : { ...result, outcome: report.outcome };
				const stated = backend.price?.costHeader
					? response.headers.get(backend.price.costHeader)
					: null;
				observeOwn(final, answerStats(report, backend.price, stated));
			}),
		);
	} else observeOwn(result);
	if (shadowCall)
		c.executionCtx.waitUntil(
			shadowCall.finish(
				watched && result.outcome === "ok" ? watched.done : Promise.resolve(null),
				result.latencyMs,
			),
		);
	// One copy of the backend's response (its headers are immutable), then Switchyard's headers.
	const reply = new Response(watched ? watched.body : response.body, response);
	// Switchyard's headers say what Switchyard did: a backend cannot claim any of them.
	if (hasSwitchyardHeader(response.headers))
		for (const name of [...reply.headers.keys()])
			if (name.startsWith("x-switchyard-")) reply.headers.delete(name);
	for (const name in headers) {
		if (name === "set-cookie") reply.headers.append(name, headers[name] as string);
		else reply.headers.set(name, headers[name] as string);
	}
	return reply;
}

/**
 * Watches an answer's body when there is something to learn from it: a
 * stream (SSE, JSON lines: TTFT, failures mid-way, limits), token usage (a
 * priced or Workers AI backend, or `tokens: true`), or text for a shadow
 * comparison. A complete answer of small declared length is read whole
 * natively before it is served; a longer one is copied as it passes. Any
 * other answer passes through untouched (the hot path of a small JSON model;
 * its duration is its time to headers). Error answers are not watched: their
 * headers said it all.
 */
function watchAnswer(
	response: Response,
	result: BackendResult,
	options: {
		spec: DeploymentSpec;
		backend: Backend;
		captureChars: number;
		clientSignal: AbortSignal;
	},
): WatchedAnswer | Promise<WatchedAnswer> | null {
	if (!response.body || result.outcome !== "ok") return null;
	const { spec, backend } = options;
	const sse = isEventStream(response);
	const wantsUsage = spec.tokens || backend.price !== undefined || backend.ai !== undefined;
	const captureChars = Math.max(options.captureChars, wantsUsage && !sse ? USAGE_CAPTURE_CHARS : 0);
	const whole = { startedAt: result.startedAt, captureChars, clientSignal: options.clientSignal };
	if (!isStreaming(response)) {
		if (captureChars === 0) return null;
		const declared = Number(response.headers.get("content-length") ?? Number.NaN);
		if (declared <= BUFFER_WHOLE_BYTES)
			return bufferWhole(response, { ...whole, maxDurationMs: spec.maxDurationMs });
		const copied = copyWhole(response.body, whole);
		return { body: copied.stream, done: copied.done };
	}
	const monitored = monitorBody(response.body, {
		...whole,
		sse,
		idleTimeoutMs: spec.idleTimeoutMs,
		maxDurationMs: spec.maxDurationMs,
	});
	return { body: monitored.stream, done: monitored.done };
}

/** An answer whose body is watched: what to serve, and how it ended. */
interface WatchedAnswer {
	body: BodyInit;
	done: Promise<BodyReport>;
}

/** How much of a complete JSON answer is kept to read its usage. */
const USAGE_CAPTURE_CHARS = 1_048_576;

/** Starts the candidate's copy now, in parallel with the champion; finishing it is background work. */
function startShadowCall(
	c: Context<AppEnv>,
	input: PredictionInput,
	init: ForwardInit,
	epoch: number,
) {
	const { spec, settings, recorder, target } = input;
	const time = Date.now();
	const body = init.body;
	const upstream = resolveUpstream(
		spec.candidate,
		c.env,
		input.restPath,
		target.search,
		target.origin,
	);
	const stop = new AbortController();
	const candidate = (async (): Promise<ShadowCopy> => {
		const result =
			"error" in upstream
				? missingBinding(upstream.error)
				: await callBackend(
						upstream,
						{ method: init.method, headers: new Headers(init.headers), body },
						spec.timeoutMs,
					);
		if (!result.response?.body) return { result };
		const report = isStreaming(result.response)
			? await drain(
					monitorBody(result.response.body, {
						startedAt: result.startedAt,
						sse: isEventStream(result.response),
						idleTimeoutMs: spec.idleTimeoutMs,
						maxDurationMs: spec.maxDurationMs,
						captureChars: settings.SHADOW_COMPARE_BYTES,
					}),
					stop.signal,
				)
			: await readWhole(result.response.body, {
					startedAt: result.startedAt,
					captureChars: settings.SHADOW_COMPARE_BYTES,
				});
		const price = spec.candidate.price;
		const stated = price?.costHeader ? result.response.headers.get(price.costHeader) : null;
		return { result, report, answer: answerStats(report, price, stated) };
	})();
	return {
		finish: (champion: Promise<BodyReport | null>, championLatencyMs: number) =>
			completeShadow(
				{
					deployment: spec.name,
					time,
					epoch,
					comparison: spec.shadow.compare,
					candidate,
					cancelCandidate: () => stop.abort(),
					champion,
					championLatencyMs,
					body,
					sampleBytes: settings.SHADOW_SAMPLE_BYTES,
					budgetMs: settings.SHADOW_BUDGET_MS,
				},
				recorder,
			).catch((error) => {
				log("shadow_failed", { deployment: spec.name, message: String(error) });
			}),
	};
}

/**
 * Reads the client's body in full, up to `maxBytes` (413 beyond, checked on
 * the declared length first). A client that goes away meanwhile is a client
 * fault (thrown as such).
 */
function clientClosed(): HttpError {
	return new HttpError(
		400,
		"request_aborted",
		"the client closed the request before it was answered",
	);
}

function withHeaders(error: HttpError, headers: Record<string, string>): HttpError {
	return new HttpError(error.status, error.code, error.message, error.details, headers);
}

function hasSwitchyardHeader(headers: Headers): boolean {
	for (const name of headers.keys()) if (name.startsWith("x-switchyard-")) return true;
	return false;
}

function hostOf(origin: string): string {
	return origin.slice(origin.indexOf("//") + 2);
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
	return { outcome: "network", startedAt: Date.now(), status: 0, latencyMs: 0, error };
}
