/**
 * The background half of shadow mode: waits for the candidate's copy and the
 * champion's body, compares them and records both. Runs in ctx.waitUntil
 * after the user has the champion's response; nothing here can reach it.
 */
import type { Comparison } from "../config/spec";
import type { Recorder } from "../metrics/observation";
import type { BackendResult } from "../routing/forward";
import { compareOutputs } from "./compare";

export interface ShadowRun {
	deployment: string;
	time: number;
	/** The rollout the copy belongs to. */
	epoch: number;
	comparison: Comparison;
	/** The candidate's copy, started in parallel with the champion. */
	candidate: Promise<BackendResult & { text?: string; truncated?: boolean }>;
	/** The champion's body (a tee of what the user receives), or null when it failed. */
	championText: Promise<{ text: string; truncated: boolean } | null>;
	championLatencyMs: number;
	body: ArrayBuffer | null;
	sampleBytes: number;
}

export async function completeShadow(run: ShadowRun, recorder: Recorder): Promise<void> {
	const [candidate, champion] = await Promise.all([
		run.candidate,
		run.championText.catch(() => null),
	]);
	recorder.observe({
		deployment: run.deployment,
		variant: "shadow",
		threshold: 0,
		epoch: run.epoch,
		time: run.time,
		outcome: candidate.outcome,
		status: candidate.status,
		latencyMs: candidate.latencyMs,
		fallback: false,
	});
	const verdict = verdictOf(candidate, champion, run.comparison);
	recorder.compare({
		deployment: run.deployment,
		time: run.time,
		threshold: 0,
		epoch: run.epoch,
		inputHash: await inputHash(run.body),
		championOutput: truncate(champion?.text ?? "", run.sampleBytes),
		candidateOutput: truncate(candidate.text ?? candidate.error ?? "", run.sampleBytes),
		championLatencyMs: run.championLatencyMs,
		candidateLatencyMs: candidate.latencyMs,
		candidateOutcome: candidate.outcome,
		...verdict,
	});
}

function verdictOf(
	candidate: BackendResult & { text?: string; truncated?: boolean },
	champion: { text: string; truncated: boolean } | null,
	comparison: Comparison,
): { agreed: boolean | null; reason?: string } {
	if (!champion) return { agreed: null, reason: "the champion failed" };
	if (candidate.outcome !== "ok" || candidate.text === undefined) {
		return { agreed: null, reason: `the candidate failed (${candidate.outcome})` };
	}
	if (champion.truncated || candidate.truncated)
		return { agreed: null, reason: "an output is too large to compare" };
	const verdict = compareOutputs(champion.text, candidate.text, comparison);
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
