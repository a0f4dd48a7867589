/**
 * CPU time of the workerd processes this process started (Miniflare's), read
 * from /proc: user + system, in milliseconds. Linux only; elsewhere null.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid: string): { ppid: number; ticks: number; comm: string } | null {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, "utf8");
		// The command is in parentheses and may hold spaces: split after its closing one.
		const close = text.lastIndexOf(")");
		const comm = text.slice(text.indexOf("(") + 1, close);
		const fields = text.slice(close + 2).split(" ");
		// After the command: state(0) ppid(1) … utime(11) stime(12).
		return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), comm };
	} catch {
		return null;
	}
}

/** Total CPU milliseconds of every workerd process descending from this one. */
export function workerdCpuMs(): number | null {
	let pids: string[];
	try {
		pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
	} catch {
		return null;
	}
	const procs = new Map<number, { ppid: number; ticks: number; comm: string }>();
	for (const pid of pids) {
		const s = stat(pid);
		if (s) procs.set(Number(pid), s);
	}
	const descends = (pid: number): boolean => {
		for (let p = pid, hops = 0; p > 1 && hops < 16; hops++) {
			if (p === process.pid) return true;
			p = procs.get(p)?.ppid ?? 0;
		}
		return false;
	};
	let ticks = 0;
	for (const [pid, s] of procs) if (s.comm.startsWith("workerd") && descends(pid)) ticks += s.ticks;
	return ticks * TICK_MS;
}
