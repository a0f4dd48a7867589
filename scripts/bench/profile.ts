/**
 * Where the router's CPU goes: V8's sampling profiler, over the inspector
 * protocol of Miniflare's workerd, while `load` runs. Self time per function
 * (the bundle is not minified, so names are the source's), as a share of the
 * samples in which the isolate was busy.
 */

export interface ProfileEntry {
	/** A function of the bundle, or a runtime category: (program), (garbage collector), native calls. */
	name: string;
	/** Percent of the busy samples spent in it (not in what it calls). */
	selfPercent: number;
}

export interface ProfileSummary {
	/** Samples in which the isolate ran anything. */
	busySamples: number;
	/** Percent of all samples the isolate was idle (waiting on I/O). */
	idlePercent: number;
	top: ProfileEntry[];
}

interface CdpNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CdpProfile {
	nodes: CdpNode[];
	samples: number[];
}

/** Profiles the worker named `worker` while `load` runs. */
export async function profileWorker(
	inspectorPort: number,
	worker: string,
	load: () => Promise<unknown>,
	top = 15,
): Promise<ProfileSummary> {
	const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
		title?: string;
		id?: string;
		webSocketDebuggerUrl: string;
	}[];
	const target = targets.find((t) => (t.title ?? t.id ?? "").includes(`core:user:${worker}`));
	if (!target) throw new Error(`no inspector target for worker ${worker}`);
	const socket = new WebSocket(target.webSocketDebuggerUrl);
	await new Promise((resolve, reject) => {
		socket.addEventListener("open", resolve, { once: true });
		socket.addEventListener("error", reject, { once: true });
	});
	let nextId = 0;
	const pending = new Map<number, (result: unknown) => void>();
	socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
		if (message.id !== undefined) pending.get(message.id)?.(message.result);
	});
	const call = <T>(method: string, params: object = {}) =>
		new Promise<T>((resolve) => {
			const id = ++nextId;
			pending.set(id, resolve as (result: unknown) => void);
			socket.send(JSON.stringify({ id, method, params }));
		});
	try {
		await call("Profiler.enable");
		await call("Profiler.setSamplingInterval", { interval: 200 });
		await call("Profiler.start");
		await load();
		const { profile } = await call<{ profile: CdpProfile }>("Profiler.stop");
		return summarize(profile, top);
	} finally {
		socket.close();
	}
}

/** Self time per function name (pure: a profile in, a summary out). */
export function summarize(profile: CdpProfile, top: number): ProfileSummary {
	const label = ({ functionName, url }: CdpNode["callFrame"]): string => {
		const name = functionName || "(anonymous)";
		// Runtime entries without a script: V8's categories, and the runtime's native calls.
		return url || name.startsWith("(") ? name : `${name} (native)`;
	};
	const names = new Map(profile.nodes.map((n) => [n.id, label(n.callFrame)]));
	const counts = new Map<string, number>();
	for (const id of profile.samples) {
		const name = names.get(id) ?? "(unknown)";
		counts.set(name, (counts.get(name) ?? 0) + 1);
	}
	const idle = counts.get("(idle)") ?? 0;
	counts.delete("(idle)");
	const busy = profile.samples.length - idle;
	const entries = [...counts.entries()]
		.sort((a, b) => b[1] - a[1])
		.slice(0, top)
		.map(([name, n]) => ({ name, selfPercent: busy > 0 ? (100 * n) / busy : 0 }));
	return {
		busySamples: busy,
		idlePercent: profile.samples.length > 0 ? (100 * idle) / profile.samples.length : 0,
		top: entries,
	};
}
