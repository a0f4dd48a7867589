/**
 * The deployment spec: what `deployment:<name>` in KV holds and what
 * `PUT /admin/api/deployments/:name` accepts. This schema, with its JSDoc, is
 * the reference; a minimal spec (name, strategy, champion, candidate) gets
 * every other field from the defaults below.
 */
import { z } from "zod";

/** Deployment names: lowercase letters, digits and dashes, 1–63 characters. */
export const DEPLOYMENT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
export const DeploymentName = z
	.string()
	.regex(DEPLOYMENT_NAME, "lowercase letters, digits and '-', 1–63 characters");

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A backend URL: https://, or http:// to a loopback host (local models, tests). */
const BackendUrl = z.url().refine(
	(value) => {
		const url = new URL(value);
		return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
	},
	{ message: "must be https://, or http:// to a loopback host" },
);

/** A model version and where it is served: a base URL or a service binding. */
export const Backend = z
	.strictObject({
		/** Version label, reported in `x-model-version` (e.g. "v2"). */
		version: z.string().min(1).max(64),
		/** Base URL; the rest of the prediction path and the query are appended. */
		url: BackendUrl.optional(),
		/** Name of a service binding in wrangler.toml (e.g. "MODEL_V2"). */
		service: z
			.string()
			.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a binding name")
			.optional(),
	})
	.refine((b) => (b.url === undefined) !== (b.service === undefined), {
		message: "a backend needs exactly one of url or service",
	});
export type Backend = z.infer<typeof Backend>;

/** Weight of traffic to the candidate, in percent with at most two decimals. */
export const Weight = z
	.number()
	.min(0)
	.max(100)
	.refine((w) => Math.abs(Math.round(w * 100) - w * 100) < 1e-6, "at most two decimals");

/**
 * Who a "unit" of assignment is. Warning: `salt` and `hashVersion` decide
 * every user's bucket; changing them on a live deployment reassigns users,
 * so the admin API refuses it without `?rebucket=true`.
 */
const AssignmentBase = {
	/** Hash salt; defaults to the deployment name, so deployments are independent. */
	salt: z.string().min(1).max(128).optional(),
	/** Hash function version (1: murmur3 x86 32-bit of "salt:unit" over UTF-8). */
	hashVersion: z.literal(1).default(1),
};
export const Assignment = z.discriminatedUnion("unit", [
	z.strictObject({
		/** A random id in a signed cookie, set on the first visit. */
		unit: z.literal("cookie"),
		...AssignmentBase,
	}),
	z.strictObject({
		/** An id from a request header (API clients); falls back to the cookie when absent. */
		unit: z.literal("header"),
		/** The header carrying the unit id, e.g. "x-user-id". */
		header: z
			.string()
			.regex(/^[A-Za-z0-9-]+$/)
			.transform((h) => h.toLowerCase()),
		...AssignmentBase,
	}),
]);
export type Assignment = z.infer<typeof Assignment>;

const Alpha = z.number().gt(0).lt(0.5);

/** The feedback guardrail of a canary: which direction is better, and the tolerated loss. */
export const FeedbackGuardrail = z.strictObject({
	/** Whether higher feedback values are better ("higher", e.g. conversion) or worse. */
	better: z.enum(["higher", "lower"]).default("higher"),
	/** Tolerated loss in the feedback mean before the guardrail fails. */
	margin: z.number().min(0).default(0),
});

/** Canary policy: the weights to step through and the guardrails that gate each step. */
export const CanaryPolicy = z.strictObject({
	/** Candidate weights (percent), strictly increasing. Passing the step before 100 promotes. */
	steps: z
		.array(Weight.refine((w) => w > 0, "steps must be above 0"))
		.min(1)
		.refine((s) => s.every((w, i) => i === 0 || w > (s[i - 1] ?? 0)), "steps must increase")
		.default([1, 5, 25, 50, 100]),
	/** Requests each variant needs in the current step before it can step up or abort. */
	minRequests: z.number().int().min(1).default(500),
	/** Seconds each step must run before stepping up. */
	bakeSeconds: z.number().min(0).default(300),
	/** Tolerated absolute increase of the error rate (0.01 = one percentage point). */
	maxErrorRateIncrease: z.number().min(0).max(1).default(0),
	/**
	 * Tolerated relative increase of each guarded latency quantile, in percent
	 * of the champion's (10: the candidate's p95 may be up to 10 % above the
	 * champion's over the same minutes).
	 */
	maxLatencyIncreasePct: z.number().min(0).max(1000).default(10),
	/**
	 * Tolerated absolute increase of each guarded latency quantile, in
	 * milliseconds; off when absent. With both margins, a quantile fails only
	 * when it exceeds both (the larger tolerance applies). Increases below
	 * 1 ms never fail (Workers' clock resolution).
	 */
	maxLatencyIncreaseMs: z.number().min(0).optional(),
	/** The latency quantiles guarded (0.95 = p95), each its own guardrail with its share of alpha. */
	latencyQuantiles: z
		.array(z.number().gt(0).lt(1))
		.min(1)
		.max(4)
		.refine((qs) => new Set(qs).size === qs.length, "quantiles must differ")
		.default([0.95]),
	/** Hard ceiling: abort at once when the candidate's error rate exceeds it. */
	maxErrorRate: z.number().gt(0).max(1).default(0.2),
	/** False-abort budget of a healthy canary over the whole rollout. */
	alpha: Alpha.default(0.05),
	/**
	 * N*: the effective sample size (balanced two-arm equivalent) at which the
	 * always-valid guardrail tests are most sensitive. Lower it for low traffic.
	 */
	nStar: z.number().min(10).default(5000),
	/** Feedback guardrail; off when absent. */
	feedback: FeedbackGuardrail.optional(),
	/** What a sample ratio mismatch does: hold (alert) or abort. */
	onSrm: z.enum(["hold", "abort"]).default("hold"),
	/**
	 * False-alarm budget of the sequential sample-ratio test over the whole
	 * rollout, split evenly across the steps, when `onSrm` is "hold" (a false
	 * alarm holds, it does not abort). With `onSrm: "abort"` the test takes its
	 * share of `alpha` instead, like a guardrail.
	 */
	srmAlpha: Alpha.default(0.001),
});
export type CanaryPolicy = z.infer<typeof CanaryPolicy>;

/** A/B test policy. */
export const AbPolicy = z.strictObject({
	/** Candidate share of units, percent. */
	weight: Weight.default(50),
	/** The decision metric. */
	metric: z.enum(["feedback", "error_rate", "latency"]).default("feedback"),
	/** For feedback: whether higher is better. Error rate and latency: lower is better. */
	better: z.enum(["higher", "lower"]).default("higher"),
	alpha: Alpha.default(0.05),
	/** Units each variant needs before a verdict can conclude the test. */
	minSamples: z.number().int().min(1).default(1000),
	/** Effect size for "needs about N more" (absolute, in the metric's unit); defaults to the observed effect. */
	minDetectableEffect: z.number().gt(0).optional(),
	/** Conclude automatically (route everyone to the winner) on a significant verdict. */
	autoConclude: z.boolean().default(false),
	/** False-alarm budget of the sequential sample-ratio test over the whole test (a mismatch holds). */
	srmAlpha: Alpha.default(0.001),
});
export type AbPolicy = z.infer<typeof AbPolicy>;

/** How shadow outputs are compared: whole JSON, one field, or one numeric field within a tolerance. */
export const Comparison = z.strictObject({
	/** Dot path of the field to compare (e.g. "label"); the whole JSON body when absent. */
	field: z.string().min(1).optional(),
	/** For numeric fields: |a − b| ≤ tolerance counts as agreement. */
	tolerance: z.number().min(0).optional(),
});
export type Comparison = z.infer<typeof Comparison>;

/** Shadow policy. */
export const ShadowPolicy = z.strictObject({
	/** Share of requests copied to the candidate, 0–1. */
	sampleRate: z.number().min(0).max(1).default(1),
	compare: Comparison.prefault({}),
	/** Move to a canary automatically when agreement is good enough. */
	promoteTo: z.literal("canary").optional(),
	/** Comparisons needed before automatic promotion. */
	minComparisons: z.number().int().min(1).default(1000),
	/** Agreement rate (lower confidence bound) needed for automatic promotion. */
	minAgreement: z.number().min(0).max(1).default(0.95),
});
export type ShadowPolicy = z.infer<typeof ShadowPolicy>;

export const Strategy = z.enum(["shadow", "ab", "canary"]);
export type Strategy = z.infer<typeof Strategy>;

export const DeploymentSpec = z.strictObject({
	/** The deployment's name; served at /v1/models/<name>/…. */
	name: DeploymentName,
	strategy: Strategy,
	/** The version serving today. */
	champion: Backend,
	/** The version being rolled out. */
	candidate: Backend,
	assignment: Assignment.prefault({ unit: "cookie" }),
	/** Per-backend timeout for the response headers, in milliseconds. */
	timeoutMs: z.number().int().min(1).max(60_000).default(3000),
	/** In ab and canary, serve the champion when the candidate fails (5xx, timeout, network). */
	fallback: z.boolean().default(true),
	/** Bodies up to this size are buffered so they can be replayed (fallback, shadow). */
	maxBodyBytes: z
		.number()
		.int()
		.min(0)
		.max(100 * 1024 * 1024)
		.default(1024 * 1024),
	/**
	 * Seconds after a request's minute ends before its feedback is compared:
	 * only minutes whose feedback has matured in both arms enter the feedback
	 * guardrail and the A/B feedback metric, so labels that arrive late do not
	 * favour the arm whose requests are older. Set it to the time by which most
	 * feedback has arrived.
	 */
	feedbackDelaySeconds: z
		.number()
		.min(0)
		.max(7 * 24 * 3600)
		.default(0),
	canary: CanaryPolicy.prefault({}),
	ab: AbPolicy.prefault({}),
	shadow: ShadowPolicy.prefault({}),
	/** Free text for people. */
	description: z.string().max(1000).optional(),
});
export type DeploymentSpec = z.infer<typeof DeploymentSpec>;
export type DeploymentSpecInput = z.input<typeof DeploymentSpec>;

/** The salt actually used for hashing. */
export function saltOf(spec: DeploymentSpec): string {
	return spec.assignment.salt ?? spec.name;
}
