/**
 * The deployment spec: what `deployment:<name>` in KV holds and what
 * `PUT /admin/api/deployments/:name` accepts. This schema, with its JSDoc, is
 * the reference; a minimal spec (name, strategy, champion, candidate) gets
 * every other field from the defaults below.
 */
import { z } from "zod";
import { isTimeZone, parseHours, WEEKDAYS } from "./calendar";
import { NOTIFY_EVENTS } from "./notify-events";
import { DEFAULT_SHARDS, MAX_SHARDS } from "./shards";

/** Deployment names: lowercase letters, digits and dashes, 1–63 characters. */
export const DEPLOYMENT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
export const DeploymentName = z
	.string()
	.regex(DEPLOYMENT_NAME, "lowercase letters, digits and '-', 1–63 characters");

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A URL the worker calls: https://, or http:// to a loopback host (local models, tests). */
export const OutboundUrl = z.url().refine(
	(value) => {
		const url = new URL(value);
		return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
	},
	{ message: "must be https://, or http:// to a loopback host" },
);

/** What a backend's answers cost, for the cost metric (any currency, the same for both arms). */
export const Price = z.strictObject({
	/** Price of a million input (prompt) tokens. */
	inputPer1M: z.number().min(0).optional(),
	/** Price of a million output (completion) tokens. */
	outputPer1M: z.number().min(0).optional(),
	/** A response header stating the request's cost (a gateway's, say); it wins over the prices. */
	costHeader: z
		.string()
		.regex(/^[A-Za-z0-9-]+$/)
		.transform((h) => h.toLowerCase())
		.optional(),
});

/** A Workers AI model, called through the `AI` binding (optionally through an AI Gateway). */
export const AiModel = z.strictObject({
	/** The model, e.g. "@cf/meta/llama-3.1-8b-instruct". */
	model: z.string().min(1).max(200),
	/** An AI Gateway id to route the call through. */
	gateway: z.string().min(1).max(100).optional(),
});

/**
 * Switchyard's own secrets: never a backend's credential, so a spec (which
 * whoever can write KV can write) cannot send them to a URL of its choosing.
 */
export const RESERVED_SECRETS = [
	"ADMIN_TOKEN",
	"SIGNING_KEY",
	"SIGNING_KEYS",
	"FEEDBACK_TOKEN",
	"WEBHOOK_SECRET",
] as const;

/**
 * A credential Switchyard sends to a backend, read from a worker secret at
 * call time (`wrangler secret put NAME`): the spec names the secret, never
 * holds it. It replaces whatever the client sent in that header.
 */
export const BackendAuth = z.strictObject({
	/** The worker secret (or var) holding the credential, e.g. "CANDIDATE_API_KEY"; not one of Switchyard's own. */
	secret: z
		.string()
		.regex(/^[A-Z_][A-Z0-9_]*$/, "an upper-case secret name")
		.refine((name) => !(RESERVED_SECRETS as readonly string[]).includes(name), {
			message: `one of Switchyard's own secrets (${RESERVED_SECRETS.join(", ")}) is never sent to a backend`,
		}),
	/** The header it goes in. */
	header: z
		.string()
		.regex(/^[A-Za-z0-9-]+$/)
		.transform((h) => h.toLowerCase())
		.default("authorization"),
	/** Written before the secret, e.g. "Bearer" (the default for Authorization); "" for none. */
	scheme: z.string().max(32).optional(),
});

/**
 * The kinds of backend, by the field that declares one, and how each names
 * the place it serves from: beside the version label, that is a backend's
 * identity ({@link backendIdentity}). Each kind has an adapter in
 * src/backends/ (the list there says how to add one).
 */
const BACKEND_PLACES: { [K in BackendKind]: (where: NonNullable<Backend[K]>) => string } = {
	url: (url) => url,
	service: (binding) => binding,
	ai: (ai) => `ai:${ai.model}`,
};
export type BackendKind = "url" | "service" | "ai";
export const BACKEND_KINDS = Object.keys(BACKEND_PLACES) as BackendKind[];

/** A model version and where it is served: a base URL, a service binding, or Workers AI. */
export const Backend = z
	.strictObject({
		/** Version label, reported in `x-model-version` (e.g. "v2"). */
		version: z.string().min(1).max(64),
		/** Base URL; the rest of the prediction path and the query are appended. */
		url: OutboundUrl.optional(),
		/** Name of a service binding in wrangler.toml (e.g. "MODEL_V2"). */
		service: z
			.string()
			.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a binding name")
			.optional(),
		/** A Workers AI model (the `AI` binding): OpenAI-compatible requests in, answers or SSE out. */
		ai: AiModel.optional(),
		/** What its answers cost (token prices or a stated-cost header). */
		price: Price.optional(),
		/** A credential for a url or service backend, from a worker secret. */
		auth: BackendAuth.optional(),
	})
	.refine((b) => BACKEND_KINDS.filter((kind) => b[kind] !== undefined).length === 1, {
		message: `a backend needs exactly one of ${BACKEND_KINDS.slice(0, -1).join(", ")} or ${BACKEND_KINDS.at(-1)}`,
	})
	.refine((b) => b.ai === undefined || b.auth === undefined, {
		message: "a Workers AI backend takes no auth (the AI binding is the credential)",
		path: ["auth"],
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

/**
 * Step windows: steps up and promotions happen only inside them; aborts
 * happen at any time. One range of local hours on the listed weekdays.
 */
export const StepWindows = z.strictObject({
	/** IANA time zone of the hours, e.g. "Europe/Berlin" (daylight saving time included). */
	timezone: z.string().refine(isTimeZone, "an IANA time zone such as Europe/Berlin"),
	/** Weekdays the window is open (all when absent). */
	days: z
		.array(z.enum(WEEKDAYS))
		.min(1)
		.refine((d) => new Set(d).size === d.length, "each day once")
		.default([...WEEKDAYS]),
	/** Local hours "HH:MM-HH:MM", start included, end excluded, start before end ("24:00" allowed). */
	hours: z
		.string()
		.refine((h) => parseHours(h) !== null, 'local hours "HH:MM-HH:MM" with start before end')
		.default("00:00-24:00"),
});
export type StepWindows = z.infer<typeof StepWindows>;

/** Canary policy: the weights to step through and the guardrails that gate each step. */
export const CanaryPolicy = z
	.strictObject({
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
		/**
		 * Time-to-first-token guardrail for streamed LLM answers; off when absent
		 * (`{}` turns it on with its defaults): the candidate's TTFT quantile may
		 * be at most `maxIncreasePct` % above the champion's over the same minutes.
		 */
		ttft: z
			.strictObject({
				quantile: z.number().gt(0).lt(1).default(0.95),
				maxIncreasePct: z.number().min(0).max(1000).default(10),
			})
			.optional(),
		/**
		 * Cost guardrail: the candidate's mean cost per request may be at most
		 * this many percent above the champion's (over the same minutes); off
		 * when absent. Needs a price (or a cost header) on both backends.
		 */
		maxCostIncreasePct: z.number().min(0).max(10_000).optional(),
		/** What a sample ratio mismatch does: hold (alert) or abort. */
		onSrm: z.enum(["hold", "abort"]).default("hold"),
		/**
		 * False-alarm budget of the sequential sample-ratio test over the whole
		 * rollout, split evenly across the steps, when `onSrm` is "hold" (a false
		 * alarm holds, it does not abort). With `onSrm: "abort"` the test takes its
		 * share of `alpha` instead, like a guardrail.
		 */
		srmAlpha: Alpha.default(0.001),
		/**
		 * Approval gates: weights (steps, or 100 for the promotion) the controller
		 * only goes to once an operator approves. It holds with "awaiting approval
		 * to go to 50 %" after that step's guardrails and bake time have passed;
		 * the guardrails keep running while it waits.
		 */
		approvalBefore: z.array(Weight).default([]),
		/** When steps up and promotions may happen; at any time when absent. */
		stepWindows: StepWindows.optional(),
	})
	.superRefine((policy, ctx) => {
		policy.approvalBefore.forEach((weight, i) => {
			if (weight !== 100 && !policy.steps.includes(weight))
				ctx.addIssue({
					code: "custom",
					path: ["approvalBefore", i],
					message: `${weight} is not one of the steps (nor 100, the promotion)`,
				});
		});
	});
export type CanaryPolicy = z.infer<typeof CanaryPolicy>;

/** A/B test policy. */
export const AbPolicy = z.strictObject({
	/** Candidate share of units, percent. */
	weight: Weight.default(50),
	/**
	 * The decision metric: feedback, error rate, latency, or for LLM answers
	 * time to first token, cost per request or completion tokens per request.
	 */
	metric: z
		.enum(["feedback", "error_rate", "latency", "ttft", "cost", "tokens"])
		.default("feedback"),
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

/**
 * How shadow outputs are compared: whole JSON (or text), one field, one
 * numeric field within a tolerance, or text by similarity. Streamed answers
 * (SSE) are compared on their assembled text.
 */
export const Comparison = z.strictObject({
	/** Dot path of the field to compare (e.g. "label", "choices.0.message.content"); the whole body when absent. */
	field: z.string().min(1).optional(),
	/** For numeric fields: |a − b| ≤ tolerance counts as agreement. */
	tolerance: z.number().min(0).optional(),
	/** For text: normalised similarity (word overlap, 0–1) at or above this counts as agreement. */
	similarity: z.number().min(0).max(1).optional(),
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

/**
 * How `POST /v1/feedback` accepts outcomes for this deployment. By default
 * only a server holding the FEEDBACK_TOKEN secret may send them; `public:
 * true` lets browsers send them too, rate-limited per client, with at most one
 * value per unit per minute of request, so no single client can outweigh the
 * rest. Values outside the kind are refused (400 invalid_value).
 */
export const FeedbackPolicy = z
	.discriminatedUnion("kind", [
		z.strictObject({
			/** 0 or 1: a conversion, a label match. */
			kind: z.literal("binary"),
			public: z.boolean().default(false),
		}),
		z.strictObject({
			/** A number within [min, max]: a reward, a rating. */
			kind: z.literal("numeric"),
			min: z.number(),
			max: z.number(),
			public: z.boolean().default(false),
		}),
	])
	.refine((p) => p.kind !== "numeric" || p.min < p.max, {
		message: "min must be below max",
		path: ["max"],
	});
export type FeedbackPolicy = z.infer<typeof FeedbackPolicy>;

/**
 * A webhook to notify of a rollout's events: one signed POST per event.
 * Like a backend, it is a `url` or a `service` binding (a worker of yours
 * that relays events inside your account).
 */
export const NotifyTarget = z
	.strictObject({
		/** https://, or http:// to a loopback host (local receivers). */
		url: OutboundUrl.optional(),
		/** Name of a service binding in wrangler.toml, instead of a URL. */
		service: z
			.string()
			.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a binding name")
			.optional(),
		/** Which events (all when absent). */
		events: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional(),
		/** "json" (Switchyard's event object) or "slack" (an incoming-webhook message, `{"text"}`). */
		format: z.enum(["json", "slack"]).default("json"),
	})
	.refine((t) => (t.url === undefined) !== (t.service === undefined), {
		message: "a notify target needs exactly one of url or service",
	});
export type NotifyTarget = z.infer<typeof NotifyTarget>;

/**
 * How the deployment's metrics and feedback reach it: isolates flush to one
 * of `shards` ingest objects in turn, so each takes 1/N of the flushes, and
 * the deployment's object merges them at every look. Raise it when one
 * object would take more than about 500 requests a second (`npm run
 * capacity` says how many a traffic needs).
 *
 * Warning: feedback de-duplication is partitioned by the shard count (a
 * unit's request ids always meet the same shard). Changing it on a live
 * deployment can count a repeated value twice, so the admin API refuses it
 * without `?rebucket=true`.
 */
export const IngestPolicy = z.strictObject({
	/** Ingest shard objects, 1–64. */
	shards: z.number().int().min(1).max(MAX_SHARDS).default(DEFAULT_SHARDS),
});
export type IngestPolicy = z.infer<typeof IngestPolicy>;

export const Strategy = z.enum(["shadow", "ab", "canary"]);
export type Strategy = z.infer<typeof Strategy>;

export const DeploymentSpec = z
	.strictObject({
		/** The deployment's name; served at /v1/models/<name>/…. */
		name: DeploymentName,
		strategy: Strategy,
		/** The version serving today. */
		champion: Backend,
		/** The version being rolled out. */
		candidate: Backend,
		assignment: Assignment.prefault({ unit: "cookie" }),
		/** Per-backend timeout for the response headers, in milliseconds (never cuts a body). */
		timeoutMs: z.number().int().min(1).max(60_000).default(3000),
		/** Longest wait for the next chunk of an answer's body, in milliseconds. */
		idleTimeoutMs: z.number().int().min(1).max(600_000).default(30_000),
		/** Longest an answer may keep its client waiting on the backend in all (a long LLM stream), in ms. */
		maxDurationMs: z.number().int().min(1).max(3_600_000).default(600_000),
		/**
		 * Read token usage from complete JSON answers too (OpenAI-compatible
		 * `usage`); streamed answers are always read. On by itself when a backend
		 * has a price.
		 */
		tokens: z.boolean().default(false),
		/** In ab and canary, serve the champion when the candidate fails (5xx, timeout, network). */
		fallback: z.boolean().default(true),
		/**
		 * The largest request body accepted (413 beyond); bodies are read in full
		 * before a backend is called, into an isolate of 128 MB: at most 32 MB.
		 */
		maxBodyBytes: z
			.number()
			.int()
			.min(0)
			.max(32 * 1024 * 1024)
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
		feedback: FeedbackPolicy.prefault({ kind: "binary" }),
		ingest: IngestPolicy.prefault({}),
		/** Webhooks told of starts, steps, gates, promotions, aborts, pauses and holds. */
		notify: z.array(NotifyTarget).max(10).default([]),
		/** Free text for people. */
		description: z.string().max(1000).optional(),
	})
	.refine(
		(spec) =>
			spec.champion.version !== spec.candidate.version ||
			backendIdentity(spec.champion) === backendIdentity(spec.candidate),
		{
			message:
				"two different backends need two version labels (x-model-version and the metrics tell them apart by it)",
			path: ["candidate", "version"],
		},
	);
export type DeploymentSpec = z.infer<typeof DeploymentSpec>;

/** What a variant is: its version label and where it is served. */
export function backendIdentity(backend: Backend): string {
	let where = "";
	for (const kind of BACKEND_KINDS) where ||= placeIn(backend, kind);
	return `${backend.version} @ ${where}`;
}

function placeIn<K extends BackendKind>(backend: Backend, kind: K): string {
	const where = backend[kind];
	return where === undefined ? "" : BACKEND_PLACES[kind](where);
}
export type DeploymentSpecInput = z.input<typeof DeploymentSpec>;

/** The salt actually used for hashing. */
export function saltOf(spec: DeploymentSpec): string {
	return spec.assignment.salt ?? spec.name;
}
