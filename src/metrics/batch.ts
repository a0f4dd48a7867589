/**
 * An isolate's pending metrics for one deployment: observations folded into
 * per-(minute, variant, threshold, epoch) aggregates as they arrive, so a batch's
 * size depends on how many minutes and variants it spans, not on traffic;
 * the latest shadow samples; and queued feedback values.
 * Pure; the recorder owns the buffers and the flushing.
 */
import type { FeedbackItem, IngestRow, ShadowSample, ShardBatch } from "../ingest/protocol";
import { addComparison, addObservation, emptyAggregate } from "./aggregate";
import { MINUTE_MS } from "./minutes";
import type { Observation, ObservedVariant, ShadowComparison } from "./observation";

export type { IngestRow, ShadowSample };
export { MINUTE_MS };

export interface IngestBatch {
	rows: IngestRow[];
	samples: ShadowSample[];
	/** Observations folded into the rows. */
	observations: number;
}

export class PendingBatch {
	readonly rows = new Map<string, IngestRow>();
	samples: ShadowSample[] = [];
	feedback: FeedbackItem[] = [];
	observations = 0;
	timerArmed = false;

	constructor(
		readonly firstAt: number,
		private readonly maxSamples: number,
		/** The deployment's shard count, as the latest item's config said. */
		public shards: number,
	) {}

	/** What counts toward METRICS_BATCH_SIZE: observations and feedback values. */
	get items(): number {
		return this.observations + this.feedback.length;
	}

	private row(time: number, variant: ObservedVariant, threshold: number, epoch: number): IngestRow {
		const minute = Math.floor(time / MINUTE_MS);
		const key = `${minute}|${variant}|${threshold}|${epoch}`;
		let row = this.rows.get(key);
		if (!row) {
			row = { minute, variant, threshold, epoch, aggregate: emptyAggregate() };
			this.rows.set(key, row);
		}
		return row;
	}

	addObservation(o: Observation): void {
		addObservation(this.row(o.time, o.variant, o.threshold, o.epoch).aggregate, o);
		this.observations += 1;
	}

	/** Counts the verdict on the shadow row and keeps the most recent samples. */
	addComparison(c: ShadowComparison): void {
		addComparison(this.row(c.time, "shadow", c.threshold, c.epoch).aggregate, c);
		if (c.sampled === false || this.samples.length >= this.maxSamples) return;
		const { deployment: _d, threshold: _t, epoch: _e, sampled: _s, ...sample } = c;
		this.samples.push(sample);
	}

	addFeedback(item: FeedbackItem): void {
		this.feedback.push(item);
	}

	/** The batch as sent: frozen under `id`, so a retry is the same batch. */
	toShardBatch(id: string): ShardBatch {
		return {
			id,
			shards: this.shards,
			rows: [...this.rows.values()],
			samples: this.samples,
			observations: this.observations,
			feedback: this.feedback,
		};
	}
}
