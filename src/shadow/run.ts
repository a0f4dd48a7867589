/**
 * The background half of shadow mode: the candidate's copy and the
 * champion's answer are compared and recorded, in ctx.waitUntil, after the
 * user has the champion's answer; nothing here can reach it. Streams are
 * compared on their assembled text. The comparison has a budget after the
 * champion's answer ended (the platform keeps background work alive about
 * 30 s after the response): a candidate still answering by then is cut off
 * and the pair is `not_comparable`, with the reason.
 */

import type { BackendResult } from "../backends/outcome";
import type { Comparison } from "../config/spec";
import type { AnswerStats } from "../llm/answer";
import type { Observation, Recorder } from "../metrics/observation";
import type { BodyReport } from "../routing/body-monitor";
import { compareOutputs } from "./compare";

export interface ShadowCopy {
	result: BackendResult;
	/** How the candidate's body ended, when it had one. */
	report?: BodyReport;
	/** Its timings, tokens and cost. */
	answer?: AnswerStats;
}

export interface ShadowRun {
	deployment: string;
	time: number;
	/** The rollout the copy belongs to. */
	epoch: number;
	comparison: Comparison;
	/** The candidate's copy, started in parallel with the champion. */
	candidate: Promise<ShadowCopy>;
	/** Cuts the candidate's copy short (its budget ran out). */
	cancelCandidate: () => void;
	/** The champion's answer as the user received it; null when it failed. */
	champion: Promise<BodyReport | null>;
	championLatencyMs: number;
	body: ArrayBuffer | null;
	sampleBytes: number;
	/** How long the comparison may wait for the candidate after the champion's answer ended. */
	budgetMs: number;
}

const OVER_BUDGET = Symbol("over budget");

export async function completeShadow(run: ShadowRun, recorder: Recorder): Promise<void> {
	const champion = await run.champion.catch(() => null);
	let timer: ReturnType<typeof setTimeout> | null = null;
	const copy = await Promise.race([
		run.candidate,
		new Promise<typeof OVER_BUDGET>((resolve) => {
			timer = setTimeout(() => resolve(OVER_BUDGET), run.budgetMs);
		}),
	]);
	clearTimeout(timer);
	if (copy === OVER_BUDGET) run.cancelCandidate();
	const candidate = copy === OVER_BUDGET ? null : copy;
	if (candidate) recorder.observe(shadowObservation(run, candidate));
	const verdict = verdictOf(candidate, champion, run);
	recorder.compare({
		deployment: run.deployment,
		time: run.time,
		threshold: 0,
		epoch: run.epoch,
		...(recorder.wantsSample(run.deployment)
			? {
					inputHash: await inputHash(run.body),
					championOutput: truncate(champion?.captured?.text ?? "", run.sampleBytes),
					candidateOutput: truncate(
						candidate?.report?.captured?.text ?? candidate?.result.error ?? "",
						run.sampleBytes,
					),
				}
			: { inputHash: "", championOutput: "", candidateOutput: "", sampled: false }),
		championLatencyMs: run.championLatencyMs,
		candidateLatencyMs: candidate?.result.latencyMs ?? run.budgetMs,
		candidateOutcome: candidate ? outcomeOf(candidate) : "timeout",
		...verdict,
	});
}

function outcomeOf(copy: ShadowCopy): Observation["outcome"] {
	const body = copy.report?.outcome;
	return body === "stream" || body === "timeout" ? body : copy.result.outcome;
}

function shadowObservation(run: ShadowRun, copy: ShadowCopy): Observation {
	return {
		deployment: run.deployment,
		variant: "shadow",
		threshold: 0,
		epoch: run.epoch,
		time: run.time,
		outcome: outcomeOf(copy),
		status: copy.result.status,
		latencyMs: copy.result.latencyMs,
		fallback: false,
		...(copy.answer ? { answer: copy.answer } : {}),
	};
}

function verdictOf(
	candidate: ShadowCopy | null,
	champion: BodyReport | null,
	run: ShadowRun,
): { agreed: boolean | null; reason?: string } {
	if (champion?.outcome !== "ok")
		return { agreed: null, reason: "the champion's answer did not arrive whole" };
	if (!candidate)
		return {
			agreed: null,
			reason: `the candidate did not finish within the ${run.budgetMs} ms shadow budget`,
		};
	const outcome = outcomeOf(candidate);
	if (outcome !== "ok" || !candidate.report?.captured)
		return { agreed: null, reason: `the candidate failed (${outcome})` };
	if (champion.captured?.truncated || candidate.report.captured.truncated)
		return { agreed: null, reason: "an output is too large to compare" };
	const verdict = compareOutputs(
		champion.captured?.text ?? "",
		candidate.report.captured.text,
		run.comparison,
	);
	return verdict.agreed === null
		? { agreed: null, reason: verdict.reason }
		: { agreed: verdict.agreed };
}

async function inputHash(body: ArrayBuffer | null): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", body ?? new ArrayBuffer(0));
	return [...new Uint8Array(digest, 0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function truncate(text: string, maxBytes: number): string {
	return text.length <= maxBytes ? text : `${text.slice(0, maxBytes)}…`;
}
