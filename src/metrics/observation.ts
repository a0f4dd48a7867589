/**
 * What the request path reports about each prediction, and the interface it
 * reports through. The metrics layer implements {@link Recorder}; the request
 * path never awaits it.
 */
import type { Outcome } from "../backends/outcome";
import type { AnswerStats } from "../llm/answer";

/** champion / candidate: served traffic; shadow: the candidate's copies in shadow mode. */
export type ObservedVariant = "champion" | "candidate" | "shadow";

export interface Observation {
	deployment: string;
	/** The variant the unit was assigned (a fallback is still the candidate's request). */
	variant: ObservedVariant;
	/** Routing threshold (basis points on the candidate) in force: the step the request belongs to. */
	threshold: number;
	/** The rollout the request belongs to: its startedAt in Unix ms (0 before any start). */
	epoch: number;
	/** Unix ms. */
	time: number;
	outcome: Outcome;
	/** The backend's HTTP status, 0 when no answer arrived. */
	status: number;
	/** Milliseconds until the response headers (or the failure). */
	latencyMs: number;
	/** The candidate failed and the champion answered instead. */
	fallback: boolean;
	/** Assigned the candidate, served by the champion because this isolate's breaker is open. */
	diverted?: boolean;
	/** What the answer's body showed (timings, tokens, cost), when it was watched. */
	answer?: AnswerStats;
}

/** One shadow comparison, for the agreement counters and the samples table. */
export interface ShadowComparison {
	deployment: string;
	time: number;
	threshold: number;
	epoch: number;
	/** Hex SHA-256 prefix of the request body, to group identical inputs. */
	inputHash: string;
	championOutput: string;
	candidateOutput: string;
	championLatencyMs: number;
	candidateLatencyMs: number;
	candidateOutcome: Outcome;
	/** null when the outputs could not be compared (a side failed, not JSON, missing field). */
	agreed: boolean | null;
	reason?: string;
	/** False when only the counts are wanted: the input hash and outputs were not filled in. */
	sampled?: boolean;
}

export interface Recorder {
	observe(observation: Observation): void;
	compare(comparison: ShadowComparison): void;
	/** Whether a comparison of this deployment now would be kept as a sample (worth its hash). */
	wantsSample(deployment: string): boolean;
}
