/**
 * The demo's scenarios against a running edge: a healthy candidate that
 * steps through every weight to `promoted`, one with its error knob raised
 * (8 % errors) that the controller aborts, and an LLM candidate whose first
 * token comes four times later, aborted on its time to first token. The cron
 * is fired on an accelerated clock; progress is shown live.
 */
import { startTraffic, type TrafficStats } from "./traffic";

export interface DemoEdge {
	url: string;
	token: string;
	/** FEEDBACK_TOKEN: the demo's outcomes are reported server to server. */
	feedbackToken: string;
	/** Fires the cron trigger once and waits for it. */
	fireCron(): Promise<void>;
}

export interface ScenarioOutcome {
	name: string;
	expected: "promoted" | "aborted";
	status: string;
	ok: boolean;
	seconds: number;
	/** Weights the canary went through, in order. */
	weights: number[];
	reason: string;
	traffic: TrafficStats;
}

export interface DemoOptions {
	/** Longest a scenario may run, seconds. */
	scenarioSeconds?: number;
	/** Time between cron runs, ms. */
	cronEveryMs?: number;
	concurrency?: number;
	/** Live progress (a line that changes). */
	progress?: (line: string) => void;
	log?: (line: string) => void;
}

export const DEPLOYMENT = "demo-canary";
export const CHAT_DEPLOYMENT = "demo-chat";

interface Status {
	state: { status: string; weight: number; step: number; reason: string };
	analysis: {
		strategy: string;
		step?: { candidate: number; champion: number; elapsedSeconds: number };
		rollout?: {
			champion: { requests: number; errorRate: number };
			candidate: { requests: number; errorRate: number };
		};
	} | null;
}

function demoSpec(faulty: boolean, salt: string) {
	return {
		name: DEPLOYMENT,
		strategy: "canary",
		description: "npm run demo: a fast canary (short bake, few requests per step).",
		champion: { version: "v1", service: "MODEL_V1" },
		candidate: faulty
			? { version: "v2-faulty", service: "MODEL_V2_FAULTY" }
			: { version: "v2", service: "MODEL_V2" },
		assignment: { unit: "cookie", salt },
		canary: {
			steps: [5, 25, 50, 100],
			minRequests: 150,
			bakeSeconds: 4,
			maxLatencyIncreaseMs: 50,
			nStar: 1000,
			feedback: { better: "higher", margin: 0.1 },
		},
	};
}

async function api<T>(edge: DemoEdge, method: string, path: string, body?: unknown): Promise<T> {
	const res = await fetch(`${edge.url}/admin/api${path}`, {
		method,
		headers: {
			authorization: `Bearer ${edge.token}`,
			...(body === undefined ? {} : { "content-type": "application/json" }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
	return JSON.parse(text) as T;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The chat scenario's canary: a candidate whose first token comes four times later. */
function chatSpec(salt: string) {
	return {
		name: CHAT_DEPLOYMENT,
		strategy: "canary",
		description: "npm run demo: an LLM canary guarded on time to first token.",
		champion: { version: "chat-v1", service: "MODEL_CHAT" },
		candidate: { version: "chat-v2-slow", service: "MODEL_CHAT_V2_SLOW" },
		assignment: { unit: "cookie", salt },
		timeoutMs: 10_000,
		canary: {
			steps: [25, 50, 100],
			minRequests: 100,
			bakeSeconds: 4,
			nStar: 1000,
			ttft: { quantile: 0.5 },
		},
	};
}

async function runScenario(
	edge: DemoEdge,
	name: string,
	faulty: boolean,
	options: DemoOptions,
	kind: "sentiment" | "chat" = "sentiment",
): Promise<ScenarioOutcome> {
	const expected = faulty ? "aborted" : "promoted";
	const log = options.log ?? (() => {});
	const salt = `demo-${Date.now().toString(36)}`;
	const deployment = kind === "chat" ? CHAT_DEPLOYMENT : DEPLOYMENT;
	const spec = kind === "chat" ? chatSpec(salt) : demoSpec(faulty, salt);
	await api(edge, "PUT", `/deployments/${deployment}?rebucket=true&force=true`, spec);
	const current = await api<Status>(edge, "GET", `/deployments/${deployment}`);
	if (["running", "paused", "shadowing", "promoted"].includes(current.state.status)) {
		await api(edge, "POST", `/deployments/${deployment}/abort`, {
			reason: "demo: starting a new scenario",
		});
	}
	await api(edge, "POST", `/deployments/${deployment}/start`, { reason: `demo: ${name}` });
	const first = spec.canary.steps[0] ?? 0;
	log(
		`\n${name}: started a canary of ${kind === "chat" ? "chat-v2-slow (first token 4× later)" : faulty ? "v2 with its error knob at 8 %" : "v2"} at ${first} %`,
	);

	const traffic = startTraffic({
		url: edge.url,
		deployment,
		concurrency: options.concurrency ?? 12,
		newVisitorShare: 0.3,
		feedbackShare: 0.3,
		feedbackToken: edge.feedbackToken,
		kind,
	});
	const started = Date.now();
	const weights: number[] = [first];
	let status: Status = current;
	try {
		while ((Date.now() - started) / 1000 < (options.scenarioSeconds ?? 80)) {
			await new Promise((r) => setTimeout(r, options.cronEveryMs ?? 1000));
			await edge.fireCron();
			status = await api<Status>(edge, "GET", `/deployments/${deployment}`);
			const { state, analysis } = status;
			if (state.status === "running" && weights[weights.length - 1] !== state.weight)
				weights.push(state.weight);
			const rollout = analysis?.rollout;
			const line = [
				`${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s`,
				`${state.status} at ${state.weight} % (step ${state.step})`,
				rollout
					? `champion ${rollout.champion.requests} req ${pct(rollout.champion.errorRate)} err | candidate ${rollout.candidate.requests} req ${pct(rollout.candidate.errorRate)} err`
					: "",
				`— ${state.reason}`,
			].join("  ");
			options.progress?.(line);
			if (["promoted", "aborted", "concluded"].includes(state.status)) break;
		}
	} finally {
		await traffic.stop();
	}
	const seconds = (Date.now() - started) / 1000;
	const ok = status.state.status === expected;
	return {
		name,
		expected,
		status: status.state.status,
		ok,
		seconds,
		weights,
		reason: status.state.reason,
		traffic: traffic.stats,
	};
}

export function describeOutcome(o: ScenarioOutcome): string {
	const t = o.traffic;
	const path = o.weights.join(" → ");
	const head = `${o.ok ? "✓" : "✗"} ${o.name}: ${o.status} after ${o.seconds.toFixed(0)} s (weights ${path} %; expected ${o.expected})`;
	const where = o.status === "aborted" ? `aborted at ${o.weights[o.weights.length - 1]} %` : "";
	return [
		head,
		`    ${t.requests} predictions from ${t.visitors} visitors, ${t.visitorsOnCandidate} of whom ever saw the candidate${where ? ` (${where})` : ""}; ${t.fallbacks} fallbacks, ${t.errors} errors to users, ${t.feedback} feedback values`,
		`    last decision: ${o.reason}`,
	].join("\n");
}

export async function runDemo(
	edge: DemoEdge,
	options: DemoOptions = {},
): Promise<{ ok: boolean; outcomes: ScenarioOutcome[] }> {
	const outcomes = [
		await runScenario(edge, "Scenario 1 — a healthy candidate", false, options),
		await runScenario(edge, "Scenario 2 — a candidate failing 8 % of requests", true, options),
		await runScenario(
			edge,
			"Scenario 3 — an LLM whose first token comes 4× later",
			true,
			options,
			"chat",
		),
	];
	return { ok: outcomes.every((o) => o.ok), outcomes };
}
