/**
 * The import graph of src/: no cycle between files (type-only imports count:
 * a cycle of types still ties the files' designs together), and the floor
 * holds: config/ imports only config/ and lib/, lib/ only lib/ (packages
 * aside). Reads the sources as text: every `import … from`, `export … from`,
 * `import "…"` and `import("…")` with a relative specifier.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");
const SOURCE = /\.(ts|tsx)$/;

function sources(dir: string): string[] {
	return readdirSync(dir).flatMap((entry) => {
		const path = join(dir, entry);
		if (statSync(path).isDirectory()) return sources(path);
		return SOURCE.test(entry) && !entry.endsWith(".d.ts") ? [path] : [];
	});
}

const SPECIFIER =
	/(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The file a relative specifier names (src/ only), or null for a package or a file outside src/. */
function resolveImport(from: string, specifier: string): string | null {
	if (!specifier.startsWith(".")) return null;
	const base = resolve(dirname(from), specifier);
	const stem = base.replace(/\.(js|ts|tsx)$/, "");
	for (const candidate of [`${stem}.ts`, `${stem}.tsx`, join(base, "index.ts")]) {
		try {
			if (statSync(candidate).isFile()) return candidate.startsWith(SRC) ? candidate : null;
		} catch {
			// not this one
		}
	}
	return null;
}

/** Each file of src/ and the files of src/ it imports. */
function importGraph(): Map<string, string[]> {
	const graph = new Map<string, string[]>();
	for (const file of sources(SRC)) {
		const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, "");
		const targets = new Set<string>();
		for (const match of text.matchAll(SPECIFIER)) {
			const target = resolveImport(file, match[1] ?? match[2] ?? "");
			if (target) targets.add(target);
		}
		graph.set(file, [...targets].sort());
	}
	return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
	let next = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (file: string) => {
		index.set(file, next);
		low.set(file, next);
		next += 1;
		stack.push(file);
		onStack.add(file);
		for (const target of graph.get(file) ?? []) {
			if (!index.has(target)) {
				visit(target);
				low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
			} else if (onStack.has(target)) {
				low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
			}
		}
		if (low.get(file) === index.get(file)) {
			const component: string[] = [];
			let member: string | undefined;
			do {
				member = stack.pop();
				if (member === undefined) break;
				onStack.delete(member);
				component.push(member);
			} while (member !== file);
			if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component.sort());
		}
	};
	for (const file of graph.keys()) if (!index.has(file)) visit(file);
	return found;
}

const name = (file: string) => relative(SRC, file);
const graph = importGraph();

describe("the import graph of src/", () => {
	it("reads the imports it checks (a parser that finds none would pass anything)", () => {
		expect(graph.size).toBeGreaterThan(100);
		expect(graph.get(join(SRC, "config/kv.ts"))?.map(name)).toEqual(
			expect.arrayContaining(["config/keys.ts", "config/spec.ts", "config/state.ts"]),
		);
		expect(
			cycles(
				new Map([
					["a", ["b"]],
					["b", ["c"]],
					["c", ["a"]],
					["d", ["a"]],
				]),
			),
		).toEqual([["a", "b", "c"]]);
	});

	it("has no import cycle between files", () => {
		expect(cycles(graph).map((component) => component.map(name))).toEqual([]);
	});

	it("keeps config/ and lib/ a floor: config imports config and lib, lib imports lib", () => {
		const upward: string[] = [];
		for (const [file, targets] of graph) {
			const from = name(file);
			const allowed = from.startsWith("lib/")
				? ["lib/"]
				: from.startsWith("config/")
					? ["config/", "lib/"]
					: null;
			if (!allowed) continue;
			for (const target of targets.map(name))
				if (!allowed.some((floor) => target.startsWith(floor))) upward.push(`${from} → ${target}`);
		}
		expect(upward).toEqual([]);
	});
});
