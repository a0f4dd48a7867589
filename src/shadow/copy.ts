/**
 * The foreground half of shadow mode: the candidate's copy of a request is
 * sent now, in parallel with the champion, and read to its end in the
 * background; {@link ShadowCall.finish} hands both answers to the comparison
 * (run.ts). Nothing here is awaited by the user's response.
 */
import { callBackend, unresolved } from "../backends/call";
import { resolveUpstream } from "../backends/registry";
import type { ForwardInit, UpstreamTarget } from "../backends/types";
import type { Settings } from "../config/settings";
import type { DeploymentSpec } from "../config/spec";
import { logError as log } from "../lib/log";
import { answerStats } from "../llm/answer";
import type { Recorder } from "../metrics/observation";
import {
	type BodyReport,
	drain,
	isEventStream,
	isStreaming,
	monitorBody,
	readWhole,
} from "../routing/body-monitor";
import { completeShadow, type ShadowCopy } from "./run";

/** What a shadow copy needs from the request path. */
export interface ShadowSource {
	spec: DeploymentSpec;
	settings: Settings;
	recorder: Recorder;
	/** The worker's bindings and secrets: the candidate is resolved from them. */
	env: object;
	target: UpstreamTarget;
}

/** A candidate's copy in flight. */
export interface ShadowCall {
	/**
	 * Compares the copy with the champion's answer as the user received it
	 * (null when it failed) and records both: background work, it never throws.
	 */
	finish(champion: Promise<BodyReport | null>, championLatencyMs: number): Promise<void>;
}

/** Starts the candidate's copy now, in parallel with the champion; finishing it is background work. */
export function startShadowCall(
	source: ShadowSource,
	init: ForwardInit,
	epoch: number,
): ShadowCall {
	const { spec, settings, recorder } = source;
	const time = Date.now();
	const body = init.body;
	const stop = new AbortController();
	const candidate = copyOfCandidate(source, init, stop.signal);
	return {
		finish: (champion, championLatencyMs) =>
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

/** The candidate's answer read to its end (or until `stop`), with its timings, tokens and cost. */
async function copyOfCandidate(
	source: ShadowSource,
	init: ForwardInit,
	stop: AbortSignal,
): Promise<ShadowCopy> {
	const { spec, settings } = source;
	const upstream = resolveUpstream(spec.candidate, source.env, source.target);
	const result =
		"error" in upstream
			? unresolved(upstream.error)
			: await callBackend(
					upstream,
					{ method: init.method, headers: new Headers(init.headers), body: init.body },
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
				stop,
			)
		: await readWhole(result.response.body, {
				startedAt: result.startedAt,
				captureChars: settings.SHADOW_COMPARE_BYTES,
			});
	const price = spec.candidate.price;
	const stated = price?.costHeader ? result.response.headers.get(price.costHeader) : null;
	return { result, report, answer: answerStats(report, price, stated) };
}
