/**
 * Step 3 of the request path: the answer the client gets. The backend's
 * response passes through (its body watched when there is something to learn
 * from it) with Switchyard's headers — variant, version, signed request id,
 * the unit's cookie, the fallback mark — and without any `x-switchyard-*`
 * header a backend tried to set; a call that got no response is answered
 * with the error envelope. The served answer's observation and the shadow
 * comparison wait for the body in the background.
 */
import type { BackendResult } from "../backends/outcome";
import { readsUsage } from "../backends/registry";
import type { Settings } from "../config/settings";
import type { Backend, DeploymentSpec } from "../config/spec";
import { HttpError } from "../errors";
import type { SigningKeys } from "../lib/keys";
import { logError as log } from "../lib/log";
import { answerStats } from "../llm/answer";
import type { ShadowCall } from "../shadow/copy";
import type { Variant } from "./assign";
import {
	type BodyReport,
	BUFFER_WHOLE_BYTES,
	bufferWhole,
	copyWhole,
	isEventStream,
	isStreaming,
	monitorBody,
} from "./body-monitor";
import { type CallContext, observation, observeAnswer, recorderOf } from "./call";
import { type Plan, servedBy } from "./plan";
import { signRequestId } from "./request-id";
import { unitCookie } from "./unit";

/** Background work that outlives the response (ctx.waitUntil). */
export interface Background {
	waitUntil(promise: Promise<unknown>): void;
}

/** What answering needs besides the plan and the call's result. */
export interface RespondContext extends CallContext {
	/** The client's request: its signal says when the client went away. */
	request: Request;
	ctx: Background;
	settings: Settings;
	target: CallContext["target"] & { secure: boolean };
}

export async function respond(
	plan: Plan,
	input: RespondContext,
	result: BackendResult,
	shadow: ShadowCall | undefined,
	keys: SigningKeys,
): Promise<Response> {
	const served = servedBy(plan);
	// An error (from Switchyard or the backend), a preflight or a HEAD is no answer anyone can
	// give feedback on.
	plan.claims.failed = !plan.predicting || result.outcome !== "ok";
	const headers = await switchyardHeaders(plan, served, input, keys);
	const response = result.response;
	if (!response) {
		observeAnswer(plan, input, result);
		if (shadow) input.ctx.waitUntil(shadow.finish(Promise.resolve(null), result.latencyMs));
		throw backendFailure(plan, served, result, headers);
	}

	const { spec } = input;
	const backend = spec[served];
	const watching = watchAnswer(
		response,
		result,
		spec,
		backend,
		shadow ? input.settings.SHADOW_COMPARE_BYTES : 0,
		input.request.signal,
	);
	const watched = watching instanceof Promise ? await watching : watching;
	if (watched) {
		input.ctx.waitUntil(
			watched.done.then((report) => {
				const final = report.outcome === "ok" ? result : { ...result, outcome: report.outcome };
				const stated = backend.price?.costHeader
					? response.headers.get(backend.price.costHeader)
					: null;
				observeAnswer(plan, input, final, answerStats(report, backend.price, stated));
			}),
		);
	} else observeAnswer(plan, input, result);
	if (shadow)
		input.ctx.waitUntil(
			shadow.finish(
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
 * The client's upload could not be read (too large, broken, abandoned): a
 * client fault, observed for the assigned variant with no status and no
 * latency, answered with the envelope and a request id that names no answer.
 */
export async function refuseUpload(
	plan: Plan,
	call: CallContext,
	keys: SigningKeys,
	error: unknown,
): Promise<HttpError> {
	const fault = error instanceof HttpError ? error : clientClosed();
	// No backend answered: no status, no latency.
	const none: BackendResult = {
		outcome: "client",
		startedAt: plan.claims.time,
		status: 0,
		latencyMs: 0,
	};
	recorderOf(plan, call).observe(observation(plan, plan.assigned, none, false));
	plan.claims.failed = true;
	return new HttpError(fault.status, fault.code, fault.message, undefined, {
		"x-request-id": await signRequestId(keys, plan.claims),
	});
}

async function switchyardHeaders(
	plan: Plan,
	served: Variant,
	input: RespondContext,
	keys: SigningKeys,
): Promise<Record<string, string>> {
	const headers: Record<string, string> = {
		"x-model-variant": served,
		"x-model-version": input.spec[served].version,
		"x-request-id": await signRequestId(keys, plan.claims),
	};
	if (plan.claims.fallback) headers["x-switchyard-fallback"] = "1";
	else if (plan.diverted) headers["x-switchyard-fallback"] = "breaker";
	if (plan.unit.fresh)
		headers["set-cookie"] = await unitCookie(plan.unit.id, keys, input.target.secure);
	return headers;
}

/** The envelope for a call that got no response; internals go to the logs, not to the client. */
function backendFailure(
	plan: Plan,
	served: Variant,
	result: BackendResult,
	headers: Record<string, string>,
): HttpError {
	log("backend_failed", {
		deployment: plan.claims.deployment,
		variant: served,
		outcome: result.outcome,
		requestId: headers["x-request-id"],
		message: result.error,
	});
	if (result.outcome === "client") {
		const closed = clientClosed();
		return new HttpError(closed.status, closed.code, closed.message, undefined, headers);
	}
	const timedOut = result.outcome === "timeout";
	return new HttpError(
		timedOut ? 504 : 502,
		timedOut ? "backend_timeout" : "backend_unavailable",
		timedOut ? "the model did not answer in time" : "the model could not be reached",
		undefined,
		headers,
	);
}

/**
 * Watches an answer's body when there is something to learn from it: a
 * stream (SSE, JSON lines: TTFT, failures mid-way, limits), token usage (a
 * backend whose kind or price calls for it, or `tokens: true`), or text for
 * a shadow comparison. A complete answer of small declared length is read
 * whole natively before it is served; a longer one is copied as it passes.
 * Any other answer passes through untouched (the hot path of a small JSON
 * model; its duration is its time to headers). Error answers are not
 * watched: their headers said it all.
 */
function watchAnswer(
	response: Response,
	result: BackendResult,
	spec: DeploymentSpec,
	backend: Backend,
	shadowChars: number,
	clientSignal: AbortSignal,
): WatchedAnswer | Promise<WatchedAnswer> | null {
	if (!response.body || result.outcome !== "ok") return null;
	const sse = isEventStream(response);
	const wantsUsage = spec.tokens || readsUsage(backend);
	const captureChars = Math.max(shadowChars, wantsUsage && !sse ? USAGE_CAPTURE_CHARS : 0);
	if (!isStreaming(response)) {
		if (captureChars === 0) return null;
		const whole = { startedAt: result.startedAt, captureChars, clientSignal };
		const declared = Number(response.headers.get("content-length") ?? Number.NaN);
		if (declared <= BUFFER_WHOLE_BYTES)
			return bufferWhole(response, { ...whole, maxDurationMs: spec.maxDurationMs });
		const copied = copyWhole(response.body, whole);
		return { body: copied.stream, done: copied.done };
	}
	const monitored = monitorBody(response.body, {
		startedAt: result.startedAt,
		captureChars,
		clientSignal,
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

/** The client went away (or its upload broke) before it was answered. */
function clientClosed(): HttpError {
	return new HttpError(
		400,
		"request_aborted",
		"the client closed the request before it was answered",
	);
}

function hasSwitchyardHeader(headers: Headers): boolean {
	for (const name of headers.keys()) if (name.startsWith("x-switchyard-")) return true;
	return false;
}
