/**
 * The Prometheus text exposition format (version 0.0.4) of every
 * deployment, for Grafana and the alerting teams already run. Pure.
 *
 * Traffic figures are gauges over a trailing window of complete minutes
 * (the per-minute rows the deployment object keeps), not counters since
 * process start: Switchyard has no process, and a counter rebuilt from
 * rows that retention deletes would go backwards. Divide by the window
 * (`switchyard_window_seconds`) for a rate. Latency quantiles are gauges
 * with a `quantile` label for the same reason (a summary's _sum and _count
 * must be cumulative).
 */
import type { RolloutState } from "../config/state";
import { RolloutStatus } from "../config/state";
import type { VariantAggregate } from "../metrics/aggregate";
import type { ObservedVariant } from "../metrics/observation";
import { MEASURES } from "../signals/registry";
import { emptyMoments } from "../stats";

export interface DeploymentMetrics {
	name: string;
	strategy: string | null;
	state: RolloutState | null;
	/** Merged aggregates over the window, per variant that had traffic. */
	variants: Partial<Record<"champion" | "candidate" | "shadow", VariantAggregate>>;
}

/** A label value with `\`, `"` and newlines escaped. */
function label(value: string): string {
	return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
	const inner = Object.entries(pairs)
		.map(([k, v]) => `${k}="${label(v)}"`)
		.join(",");
	return inner ? `{${inner}}` : "";
}

function number(x: number): string {
	if (Number.isNaN(x)) return "NaN";
	if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
	return String(Math.round(x * 1e6) / 1e6);
}

class Family {
	readonly lines: string[] = [];
	constructor(
		readonly name: string,
		readonly type: "gauge",
		readonly help: string,
	) {}
	add(pairs: Record<string, string>, value: number): void {
		this.lines.push(`${this.name}${labels(pairs)} ${number(value)}`);
	}
	text(): string {
		return [
			`# HELP ${this.name} ${this.help}`,
			`# TYPE ${this.name} ${this.type}`,
			...this.lines,
		].join("\n");
	}
}

export function prometheusText(
	deployments: readonly DeploymentMetrics[],
	windowSeconds: number,
): string {
	const over = `over the last ${windowSeconds / 60} complete minutes`;
	const window = new Family(
		"switchyard_window_seconds",
		"gauge",
		"The window of the traffic gauges, in seconds.",
	);
	window.add({}, windowSeconds);
	// Every measure of the signal registry with a Prometheus gauge, one family per name.
	const measured = new Map<string, Family>();
	for (const measure of MEASURES) {
		const p = measure.prometheus;
		if (p && !measured.has(p.name))
			measured.set(p.name, new Family(p.name, "gauge", `${p.help} ${over}.`));
	}
	const weight = new Family(
		"switchyard_weight_percent",
		"gauge",
		"The candidate's share of traffic, in percent.",
	);
	const step = new Family("switchyard_step", "gauge", "Index of the current canary step.");
	const status = new Family(
		"switchyard_rollout_status",
		"gauge",
		"1 for the rollout's current status, 0 for the others.",
	);
	const revision = new Family("switchyard_revision", "gauge", "Revision of the rollout state.");
	for (const d of deployments) {
		const state = d.state;
		const base = { deployment: d.name };
		weight.add(base, state?.weight ?? 0);
		step.add(base, state?.step ?? 0);
		revision.add(base, state?.revision ?? 0);
		for (const s of RolloutStatus.options)
			status.add({ ...base, status: s }, (state?.status ?? "pending") === s ? 1 : 0);
		for (const [variant, aggregate] of Object.entries(d.variants)) {
			if (!aggregate) continue;
			const row = { variant: variant as ObservedVariant, aggregate, feedback: emptyMoments() };
			for (const measure of MEASURES) {
				const p = measure.prometheus;
				if (!p || (p.when && !p.when(row))) continue;
				const value = measure.read(row);
				if (value === undefined) continue;
				measured.get(p.name)?.add({ ...base, variant, ...p.labels }, value);
			}
		}
	}
	const families = [window, ...measured.values(), weight, step, status, revision];
	return `${families.map((f) => f.text()).join("\n")}\n`;
}
