/**
 * `switchyard`: the command line over the admin API.
 * Exit codes: 0 success, 1 the API refused (or could not be reached, or a
 * waited-for rollout ended in another state), 2 usage error, 3 a wait timed out.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { DeploymentSpecInput } from "../../src/config/spec";
import { ApiError, type Client, createClient } from "./client";
import { reportText, table } from "./format";
import { isWaitTarget, WAIT_TARGETS, waitFor } from "./wait";

export interface Io {
	out(text: string): void;
	err(text: string): void;
	env: Record<string, string | undefined>;
	cwd: string;
	fetch?: typeof fetch;
	sleep(ms: number): Promise<void>;
}

const defaultIo: Io = {
	out: (text) => process.stdout.write(`${text}\n`),
	err: (text) => process.stderr.write(`${text}\n`),
	env: process.env,
	cwd: process.cwd(),
	sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** A usage error: said on its own line, then the usage of its command (or the general one). */
class UsageError extends Error {
	constructor(
		message: string,
		readonly command = "",
	) {
		super(message);
	}
}

const HELP: Record<string, string> = {
	"": `usage: switchyard <command> [options]

commands:
  status [NAME]               deployments: strategy, status, weight, step, last decision
  apply -f FILE [--rebucket] [--force] [--wait STATE]  create or replace a deployment from a spec (JSON)
  start NAME                  start a rollout (shadow, A/B or canary, as its spec says)
  pause NAME                  stop automatic steps; traffic stays where it is
  resume NAME                 continue a paused rollout
  promote NAME                shadow → canary; canary or A/B → candidate serves everyone
  abort NAME                  send all traffic back to the champion
  approve NAME                let a gated rollout go to its next step (canary.approvalBefore)
  finalize NAME               make a promoted candidate the spec's champion
  weight NAME PERCENT         set the candidate's share of traffic (0–100)
  history NAME [--limit N]    the audit log, newest first
  report NAME                 the analysis: estimates, intervals and p-values
  watch NAME [--interval S]   follow a rollout until it ends
  wait NAME --until STATE [--timeout S]  follow a rollout until it reaches STATE (CI gates)
  delete NAME                 delete a deployment

options:
  --url URL        the edge (SWITCHYARD_URL, default http://127.0.0.1:8787)
  --token TOKEN    the admin token (SWITCHYARD_TOKEN; locally, ADMIN_TOKEN from .dev.vars)
  --json           machine-readable output
  --reason TEXT    why (recorded in the audit log), for actions
  -h, --help       help for a command: switchyard <command> --help

exit codes: 0 success, 1 the API refused or could not be reached (wait: the rollout ended
in another state), 2 usage error, 3 wait timed out`,
	status:
		"usage: switchyard status [NAME] [--json]\n\nWithout NAME: every deployment as a table. With NAME: its state and last decision.",
	apply:
		"usage: switchyard apply -f FILE [--rebucket] [--force] [--wait STATE [--timeout S]] [--json]\n\nPUTs the spec in FILE to /admin/api/deployments/<name>. --rebucket allows a salt or hash-version change on a live deployment (it reassigns users); --force allows a new backend or version for a variant of a rollout in progress (its metrics so far are about another model). --wait STATE then starts the rollout (unless one is in progress) and waits as `switchyard wait` does: one line for a CI step.",
	start: "usage: switchyard start NAME [--reason TEXT]",
	pause: "usage: switchyard pause NAME [--reason TEXT]",
	resume: "usage: switchyard resume NAME [--reason TEXT]",
	promote: "usage: switchyard promote NAME [--reason TEXT]",
	abort: "usage: switchyard abort NAME [--reason TEXT]",
	finalize: "usage: switchyard finalize NAME [--reason TEXT]",
	approve:
		"usage: switchyard approve NAME [--reason TEXT]\n\nApproves the next step of a rollout held by an approval gate (canary.approvalBefore). The step is taken at once when its guardrails still pass and its step window is open, else as soon as they are.",
	weight:
		"usage: switchyard weight NAME PERCENT [--reason TEXT]\n\nPERCENT is 0–100 with at most two decimals.",
	history: "usage: switchyard history NAME [--limit N] [--json]",
	report: "usage: switchyard report NAME [--json]",
	watch:
		"usage: switchyard watch NAME [--interval SECONDS]\n\nPrints the status and the last decision whenever they change, until the rollout is promoted, aborted or concluded.",
	delete: "usage: switchyard delete NAME",
	wait: `usage: switchyard wait NAME --until STATE [--timeout SECONDS] [--interval SECONDS]

Follows a rollout, printing each decision as it happens, until it reaches STATE:
${WAIT_TARGETS.join(", ")}.
Exit codes: 0 reached; 1 the rollout ended in another state (e.g. aborted while
waiting for promoted); 3 the timeout passed first.`,
};

const ACTIONS = ["start", "pause", "resume", "promote", "abort", "finalize", "approve"] as const;
type Action = (typeof ACTIONS)[number];
const isAction = (command: string): command is Action =>
	(ACTIONS as readonly string[]).includes(command);
const ENDED = new Set(["promoted", "aborted", "concluded"]);

interface Options {
	url?: string;
	token?: string;
	json: boolean;
	help: boolean;
	reason?: string;
	file?: string;
	rebucket: boolean;
	force: boolean;
	limit?: string;
	interval?: string;
	until?: string;
	timeout?: string;
	wait?: string;
}

function parse(args: string[]): { command: string; positionals: string[]; options: Options } {
	let parsed: ReturnType<typeof parseArgs>;
	try {
		parsed = parseArgs({
			args,
			allowPositionals: true,
			options: {
				url: { type: "string" },
				token: { type: "string" },
				json: { type: "boolean", default: false },
				help: { type: "boolean", short: "h", default: false },
				reason: { type: "string" },
				file: { type: "string", short: "f" },
				rebucket: { type: "boolean", default: false },
				force: { type: "boolean", default: false },
				limit: { type: "string" },
				interval: { type: "string" },
				until: { type: "string" },
				timeout: { type: "string" },
				wait: { type: "string" },
			},
		});
	} catch (error) {
		throw new UsageError(
			(error as Error).message,
			String(args.find((a) => !a.startsWith("-")) ?? ""),
		);
	}
	const [command = "", ...positionals] = parsed.positionals;
	return { command, positionals, options: parsed.values as unknown as Options };
}

function tokenFor(url: string, options: Options, io: Io): string {
	if (options.token) return options.token;
	if (io.env.SWITCHYARD_TOKEN) return io.env.SWITCHYARD_TOKEN;
	const local = /^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?/.test(url);
	const devVars = join(io.cwd, ".dev.vars");
	if (local && existsSync(devVars))
		return /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1]?.trim() ?? "";
	return "";
}

function need(positionals: string[], count: number, command: string): string[] {
	if (positionals.length < count) throw new UsageError(`${command}: missing argument`, command);
	if (positionals.length > count)
		throw new UsageError(`${command}: unexpected argument "${positionals[count]}"`, command);
	return positionals;
}

export async function main(args: string[], io: Io = defaultIo): Promise<number> {
	try {
		const { command, positionals, options } = parse(args);
		if (command === "" || command === "help") {
			io.out(HELP[""] as string);
			return command === "help" || options.help ? 0 : 2;
		}
		if (!(command in HELP)) throw new UsageError(`unknown command "${command}"`);
		if (options.help) {
			io.out(HELP[command] as string);
			return 0;
		}
		const url = options.url ?? io.env.SWITCHYARD_URL ?? "http://127.0.0.1:8787";
		const client = createClient({ url, token: tokenFor(url, options, io), fetch: io.fetch });
		return (await run(command, positionals, options, client, io)) ?? 0;
	} catch (error) {
		if (error instanceof UsageError) {
			io.err(`error: ${error.message}`);
			io.err("");
			io.err((HELP[error.command] ?? HELP[""]) as string);
			return 2;
		}
		if (error instanceof ApiError) {
			io.err(`error: ${error.message}${error.status ? ` (${error.status} ${error.code})` : ""}`);
			if (Array.isArray(error.details)) {
				for (const issue of error.details as { path?: string; message?: string }[])
					io.err(`  ${issue.path || "(root)"}: ${issue.message}`);
			}
			return 1;
		}
		throw error;
	}
}

const IN_PROGRESS = new Set(["shadowing", "running", "paused"]);

function missing(name: string): ApiError {
	return new ApiError(404, "deployment_not_found", `no deployment named "${name}"`);
}

/** --until (or --wait) STATE, --timeout and --interval, checked. */
function waitOptionsOf(target: string, options: Options, command: string) {
	if (!isWaitTarget(target))
		throw new UsageError(
			`${command}: "${target}" is not one of ${WAIT_TARGETS.join(", ")}`,
			command,
		);
	const timeout = options.timeout === undefined ? undefined : Number(options.timeout);
	if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0))
		throw new UsageError(`${command}: --timeout must be a positive number of seconds`, command);
	const interval = Number(options.interval ?? 5);
	if (!(Number.isFinite(interval) && interval > 0))
		throw new UsageError(`${command}: --interval must be a positive number of seconds`, command);
	return { until: target, timeoutSeconds: timeout, intervalSeconds: interval };
}

async function run(
	command: string,
	positionals: string[],
	options: Options,
	client: Client,
	io: Io,
): Promise<number | undefined> {
	const { api, ok } = client;
	const print = (value: unknown, text: () => string) =>
		io.out(options.json ? JSON.stringify(value, null, 2) : text());
	const reason = options.reason === undefined ? {} : { reason: options.reason };
	const listed = async () => (await (await ok(api.deployments.$get())).json()).deployments;

	if (command === "status") {
		if (positionals.length > 1) need(positionals, 1, command);
		const deployments = await listed();
		const shown = positionals[0]
			? deployments.filter((d) => d.name === positionals[0])
			: deployments;
		if (positionals[0] && shown.length === 0)
			throw new ApiError(404, "deployment_not_found", `no deployment named "${positionals[0]}"`);
		print(positionals[0] ? shown[0] : deployments, () =>
			shown.length === 0
				? "no deployments"
				: table(
						["NAME", "STRATEGY", "STATUS", "WEIGHT", "STEP", "LAST DECISION", "REASON"],
						shown.map((d) => [
							d.name,
							d.strategy ?? "(invalid spec)",
							d.status,
							`${d.weight} %`,
							d.step,
							d.lastDecision ? `${d.lastDecision.kind} ${d.lastDecision.time.slice(11, 19)}` : "—",
							d.lastDecision?.reason ?? d.reason,
						]),
						positionals[0] ? 400 : 80,
					),
		);
		return;
	}
	if (command === "apply") {
		if (!options.file) throw new UsageError("apply: -f FILE is required", command);
		const waitOptions =
			options.wait === undefined ? null : waitOptionsOf(options.wait, options, command);
		need(positionals, 0, command);
		// The API validates the spec and answers every issue with its path; here only the name matters.
		let spec: DeploymentSpecInput;
		try {
			spec = JSON.parse(readFileSync(resolve(io.cwd, options.file), "utf8"));
		} catch (error) {
			throw new UsageError(
				`apply: cannot read ${options.file}: ${(error as Error).message}`,
				command,
			);
		}
		if (typeof spec?.name !== "string")
			throw new UsageError(`apply: ${options.file} has no "name"`, command);
		const result = await (
			await ok(
				api.deployments[":name"].$put({
					param: { name: spec.name },
					query: {
						...(options.rebucket ? { rebucket: "true" as const } : {}),
						...(options.force ? { force: "true" as const } : {}),
					},
					json: spec,
				}),
			)
		).json();
		print(
			result,
			() =>
				`${result.created ? "created" : "updated"} ${spec.name}; the edge uses it within ${result.effective.withinSeconds} s`,
		);
		if (waitOptions === null) return;
		const name = spec.name;
		const current = (await listed()).find((d) => d.name === name);
		if (waitOptions.until !== "pending" && current && !IN_PROGRESS.has(current.status)) {
			const started = await (
				await ok(
					api.deployments[":name"][":action"].$post({
						param: { name, action: "start" },
						json: reason,
					}),
				)
			).json();
			io.out(
				`${name}: ${started.state.status} at ${started.state.weight} % — ${started.state.reason}`,
			);
		}
		return waitFor(client, { ...waitOptions, name, out: io.out, sleep: io.sleep }, () =>
			missing(name),
		);
	}
	if (command === "wait") {
		const [name] = need(positionals, 1, command) as [string];
		if (options.until === undefined)
			throw new UsageError("wait: --until STATE is required", command);
		const waiting = waitOptionsOf(options.until, options, command);
		return waitFor(client, { ...waiting, name, out: io.out, sleep: io.sleep }, () => missing(name));
	}
	if (isAction(command)) {
		const [name] = need(positionals, 1, command) as [string];
		const result = await (
			await ok(
				api.deployments[":name"][":action"].$post({
					param: { name, action: command },
					json: reason,
				}),
			)
		).json();
		const { state } = result;
		print(
			result,
			() =>
				`${name}: ${state.status} at ${state.weight} % — ${state.reason} (at the edge within ${result.effective.withinSeconds} s)`,
		);
		return;
	}
	if (command === "weight") {
		const [name, raw] = need(positionals, 2, command) as [string, string];
		const weight = Number(raw);
		if (!Number.isFinite(weight) || weight < 0 || weight > 100)
			throw new UsageError(`weight: "${raw}" is not a percentage between 0 and 100`, command);
		const result = await (
			await ok(
				api.deployments[":name"].weight.$put({ param: { name }, json: { weight, ...reason } }),
			)
		).json();
		print(
			result,
			() =>
				`${name}: ${result.state.status} at ${result.state.weight} % (step ${result.state.step}) — at the edge within ${result.effective.withinSeconds} s`,
		);
		return;
	}
	if (command === "history") {
		const [name] = need(positionals, 1, command) as [string];
		const limit = options.limit ?? "20";
		if (!/^\d+$/.test(limit))
			throw new UsageError("history: --limit must be a positive integer", command);
		const { entries } = await (
			await ok(api.deployments[":name"].history.$get({ param: { name }, query: { limit } }))
		).json();
		print(entries, () =>
			entries.length === 0
				? "no history yet"
				: table(
						["TIME", "WHO", "WHAT", "FROM → TO", "REASON", "NOTIFIED"],
						entries.map((e) => [
							e.time.replace("T", " ").slice(0, 19),
							e.actor,
							e.kind,
							`${e.from ? `${e.from.status} ${e.from.weight} %` : "—"} → ${e.to.status} ${e.to.weight} %`,
							e.reason,
							(e.notifications ?? [])
								.map(
									(n) => `${n.event} ${n.status}${n.attempts > 1 ? ` (${n.attempts} tries)` : ""}`,
								)
								.join(", "),
						]),
						160,
					),
		);
		return;
	}
	if (command === "report") {
		const [name] = need(positionals, 1, command) as [string];
		const result = await (await ok(api.deployments[":name"].$get({ param: { name } }))).json();
		const { state, analysis } = result;
		print(result, () =>
			analysis && state
				? `${name}: ${state.status} at ${state.weight} % — ${state.reason}\n\n${reportText(analysis)}`
				: `${name}: the spec in KV is invalid: ${JSON.stringify(result.specIssues)}`,
		);
		return;
	}
	if (command === "watch") {
		const [name] = need(positionals, 1, command) as [string];
		const interval = Number(options.interval ?? 5);
		if (!Number.isFinite(interval) || interval <= 0)
			throw new UsageError("watch: --interval must be a positive number of seconds", command);
		let last = "";
		for (;;) {
			const d = (await listed()).find((x) => x.name === name);
			if (!d) throw new ApiError(404, "deployment_not_found", `no deployment named "${name}"`);
			const line = `${d.status} at ${d.weight} % (step ${d.step}) — ${d.lastDecision ? `${d.lastDecision.kind}: ${d.lastDecision.reason}` : d.reason}`;
			if (line !== last) {
				io.out(`${new Date().toISOString().slice(11, 19)}  ${line}`);
				last = line;
			}
			if (ENDED.has(d.status)) return;
			await io.sleep(interval * 1000);
		}
	}
	if (command === "delete") {
		const [name] = need(positionals, 1, command) as [string];
		const result = await (await ok(api.deployments[":name"].$delete({ param: { name } }))).json();
		print(result, () => `deleted ${result.deleted}`);
	}
}
