/**
 * The deployment object's control operations: each reads the spec and state
 * from KV itself, runs the synchronous core (engine.ts) in one transaction,
 * and publishes the resulting state to KV itself. Callers (the cron, the
 * admin API) send one request and get one answer; nothing travels back and
 * forth.
 *
 * Operations run one at a time (a queue in the object), KV reads and writes
 * included, so overlapping cron runs and admin actions never interleave: a
 * step is never taken twice and an admin action is never lost. Metric
 * ingestion is not queued behind them.
 *
 * KV is only the published copy: when it cannot be read, an operation runs on
 * the object's own record (an abort still aborts); when a write fails, the
 * state stays committed in the object and the next operation publishes it.
 */
import type { RescuedConfig } from "../config/cache";
import { deleteKeys, publishState, readDeployment, writeSpec } from "../config/kv";
import type { DeploymentSpec } from "../config/spec";
import { PENDING, type RolloutState } from "../config/state";
import { boundedKv } from "../lib/deadline";
import { logError } from "../lib/log";
import type { AnalysisReport } from "../rollout/analysis";
import { analyze } from "../rollout/analysis";
import { finalizedSpec } from "../rollout/transitions";
import { rowsFor } from "./analysis-rows";
import {
	type ActInput,
	type ActOutcome,
	act,
	confirmPublished,
	type LookResult,
	look,
	type PutSpecOutcome,
	putSpec,
	reconciledState,
	remove,
	type Snapshot,
} from "./engine";
import { nextDelivery } from "./outbox";
import { type AuditEntry, loadRollout, readAudit, saveRollout } from "./record";

/** A KV call slower than this has failed: reads fall back on the record, writes are retried. */
const KV_DEADLINE_MS = 10_000;

/** An operation's outcome plus whether KV now holds the resulting state. */
export type Published<T> = T & {
	/** False when the KV write failed: the object keeps the state and the next look publishes it. */
	published: boolean;
};

export type ActResult = Published<ActOutcome>;

export interface DeploymentReport {
	/** The spec in force: KV's when valid, else the last valid one the object kept. */
	spec: DeploymentSpec | null;
	specIssues?: { path: string; message: string }[];
	state: RolloutState | null;
	stateIssues?: { path: string; message: string }[];
	analysis: AnalysisReport | null;
	deleted: boolean;
}

export interface DeploymentSummary {
	spec: DeploymentSpec | null;
	state: RolloutState | null;
	lastDecision: AuditEntry | null;
	deleted: boolean;
}

export class Authority {
	#tail: Promise<unknown> = Promise.resolve();

	private readonly kv: KVNamespace;

	constructor(
		private readonly storage: DurableObjectStorage,
		kv: KVNamespace,
		readonly name: string,
		/** Makes sure the object's alarm fires by `due` (webhook deliveries waiting in the outbox). */
		private readonly wake: (due: number) => Promise<void> = async () => {},
		/** The longest a KV call may take before it counts as failed (the queue moves on). */
		kvDeadlineMs = KV_DEADLINE_MS,
	) {
		this.kv = boundedKv(kv, kvDeadlineMs);
	}

	/** One controller look (the cron's one call per deployment per minute). */
	look(now: number): Promise<Published<LookResult>> {
		return this.serial(() => this.lookNow(now));
	}

	/**
	 * An operator's action; finalize also rewrites the spec (champion :=
	 * candidate) before the state. An approval is followed at once by a look,
	 * so the approved step is taken now when its guardrails still pass (and
	 * its window is open), not at the next cron.
	 */
	act(input: ActInput): Promise<ActResult> {
		return this.serial(async () => {
			const snapshot = await this.snapshot();
			if (input.action.type === "finalize") return this.finalize(snapshot, input);
			const result = this.tx((sql) => act(sql, snapshot, input));
			if (!result.ok) return { ...result, published: false };
			const published = await this.publish(result.publish);
			await this.wakeForOutbox();
			if (input.action.type !== "approve" || !published) return { ...result, published };
			const looked = await this.lookNow(input.now);
			if (!looked.ok) return { ...result, published };
			return {
				...result,
				state: looked.state,
				publish: looked.publish,
				notified: result.notified + looked.notified,
				published: looked.published,
			};
		});
	}

	private async lookNow(now: number): Promise<Published<LookResult>> {
		const snapshot = await this.snapshot();
		const result = this.tx((sql) => look(sql, snapshot, now));
		await this.wakeForOutbox();
		if (!result.ok) {
			if (result.cleanup)
				await this.attempt("kv_delete_failed", () => deleteKeys(this.kv, this.name));
			return { ...result, published: false };
		}
		return { ...result, published: await this.publish(result.publish) };
	}

	/** Arms the alarm for the earliest pending webhook delivery, if any. */
	private async wakeForOutbox(): Promise<void> {
		const due = this.tx((sql) => nextDelivery(sql));
		if (due !== null) await this.wake(due);
	}

	/** Creates or replaces the spec (admin API). Throws when KV cannot be written. */
	putSpec(
		spec: DeploymentSpec,
		allow: { rebucket: boolean; force?: boolean },
		now: number,
	): Promise<Published<PutSpecOutcome>> {
		return this.serial(async () => {
			const snapshot = await this.snapshot();
			const raw = JSON.stringify(spec);
			const result = this.tx((sql) =>
				putSpec(sql, snapshot, {
					spec,
					raw,
					rebucket: allow.rebucket,
					force: allow.force ?? false,
					now,
				}),
			);
			if (!result.ok) return { ...result, published: false };
			// A pending state goes out before the spec: no leftover state can put a new spec live.
			if (result.statePublish) await this.publishOrThrow(result.statePublish);
			await writeSpec(this.kv, this.name, spec);
			return { ...result, published: true };
		});
	}

	/** Deletes the deployment: tombstone first, then both KV keys. Throws when KV cannot be written. */
	remove(now: number): Promise<{ deleted: boolean }> {
		return this.serial(async () => {
			const snapshot = await this.snapshot();
			const result = this.tx((sql) => remove(sql, snapshot, now));
			if (!result.ok) return { deleted: false };
			await deleteKeys(this.kv, this.name);
			return { deleted: true };
		});
	}

	/** The spec, the state and the live analysis, without changing anything. */
	async report(now: number): Promise<DeploymentReport> {
		const snapshot = await this.snapshot();
		return this.tx((sql) => {
			const record = loadRollout(sql);
			const kvSpec = snapshot?.spec;
			const kvState = snapshot?.state;
			const spec = kvSpec?.kind === "ok" ? kvSpec.value : record.spec;
			const issues = {
				...(kvSpec?.kind === "invalid" ? { specIssues: kvSpec.issues } : {}),
				...(kvState?.kind === "invalid" ? { stateIssues: kvState.issues } : {}),
			};
			if (record.deleted) {
				return { spec: null, state: record.state, analysis: null, deleted: true, ...issues };
			}
			const unknown = record.state === null && record.spec === null && kvSpec?.kind === "missing";
			if (unknown) return { spec: null, state: null, analysis: null, deleted: false };
			const state = reconciledState(record, snapshot, now, spec);
			const analysis =
				spec && state
					? analyze(spec, state, rowsFor(sql, state, now), record.memory, now).report
					: null;
			return { spec, state, analysis, deleted: false, ...issues };
		});
	}

	/** The object's own view for listings: no KV read. */
	summary(): DeploymentSummary {
		return this.tx((sql) => {
			const record = loadRollout(sql);
			return {
				spec: record.spec,
				state: record.state,
				lastDecision: readAudit(sql, 1)[0] ?? null,
				deleted: record.deleted !== null,
			};
		});
	}

	/** The last valid spec and state, for an edge that finds no valid spec in KV. */
	rescue(): RescuedConfig | null {
		const record = this.tx((sql) => loadRollout(sql));
		if (record.deleted || record.spec === null) return null;
		return { spec: record.spec, state: record.state ?? PENDING };
	}

	private async finalize(snapshot: Snapshot, input: ActInput): Promise<ActResult> {
		// Dry run first: the spec is only rewritten when the transition is allowed.
		let check: ActOutcome | undefined;
		try {
			this.tx((sql) => {
				check = act(sql, snapshot, input);
				throw new DryRun();
			});
		} catch (error) {
			if (!(error instanceof DryRun)) throw error;
		}
		const checked = check as ActOutcome | undefined;
		if (!checked) throw new Error("finalize's check did not run");
		if (!checked.ok) return { ...checked, published: false };
		if (checked.spec === null) throw new Error("finalize passed its check without a spec");
		const next = finalizedSpec(checked.spec);
		// The new spec first: while it spreads, the promoted state serves the candidate under both
		// specs; the concluded state that follows names the version it serves (see routingOf).
		const raw = await writeSpec(this.kv, this.name, next);
		const written: Snapshot = snapshot && {
			spec: { kind: "ok", raw, value: next },
			state: snapshot.state,
		};
		const result = this.tx((sql) => {
			const record = loadRollout(sql);
			record.spec = next;
			record.specRaw = raw;
			saveRollout(sql, record);
			return act(sql, written, input);
		});
		if (!result.ok) return { ...result, published: false };
		return { ...result, published: await this.publish(result.publish) };
	}

	private serial<T>(operation: () => Promise<T>): Promise<T> {
		const run = this.#tail.then(operation, operation);
		this.#tail = run.catch(() => undefined);
		return run;
	}

	private tx<T>(body: (sql: SqlStorage) => T): T {
		return this.storage.transactionSync(() => body(this.storage.sql));
	}

	private async snapshot(): Promise<Snapshot> {
		try {
			return await readDeployment(this.kv, this.name);
		} catch (error) {
			logError("kv_read_failed", { deployment: this.name, message: String(error) });
			return null;
		}
	}

	/** Publishes a state; false (logged) when KV refuses, so the caller still answers. */
	private async publish(state: RolloutState | null): Promise<boolean> {
		if (state === null) return true;
		return this.attempt("state_publish_failed", () => this.publishOrThrow(state));
	}

	private async publishOrThrow(state: RolloutState): Promise<void> {
		await publishState(this.kv, this.name, state);
		this.tx((sql) => confirmPublished(sql, state));
	}

	private async attempt(event: string, write: () => Promise<void>): Promise<boolean> {
		try {
			await write();
			return true;
		} catch (error) {
			logError(event, { deployment: this.name, message: String(error) });
			return false;
		}
	}
}

class DryRun extends Error {}
