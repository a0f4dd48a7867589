/**
 * The one logger (src/lib/log.ts): one JSON line per event with its level,
 * its event name and its fields, and nothing else in src/ writing to the
 * console.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logError, logInfo, logWarn } from "../../src/lib/log";

const SRC = resolve(import.meta.dirname, "../../src");

function sources(dir: string): string[] {
	return readdirSync(dir).flatMap((entry) => {
		const path = join(dir, entry);
		if (statSync(path).isDirectory()) return sources(path);
		return /\.tsx?$/.test(entry) ? [path] : [];
	});
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe("the logger", () => {
	it("writes one JSON line per event, at its level, naming the deployment", () => {
		const lines: [string, string][] = [];
		for (const level of ["log", "warn", "error"] as const)
			vi.spyOn(console, level).mockImplementation((line: string) => lines.push([level, line]));
		logError("retention_failed", { deployment: "sentiment", message: "disk full" });
		logWarn("stale_state_ignored", { deployment: "sentiment", revision: 3 });
		logInfo("controller_run", { deployments: 2 });
		expect(lines.map(([level, line]) => [level, JSON.parse(line)])).toEqual([
			[
				"error",
				{
					level: "error",
					event: "retention_failed",
					deployment: "sentiment",
					message: "disk full",
				},
			],
			[
				"warn",
				{ level: "warn", event: "stale_state_ignored", deployment: "sentiment", revision: 3 },
			],
			["log", { level: "info", event: "controller_run", deployments: 2 }],
		]);
		expect(lines.every(([, line]) => !line.includes("\n"))).toBe(true);
	});

	it("logs a thrown value in a field as its text, not as {}", () => {
		const lines: string[] = [];
		vi.spyOn(console, "error").mockImplementation((line: string) => lines.push(line));
		logError("outbox_failed", { deployment: "d", error: new TypeError("no socket") });
		expect(JSON.parse(lines[0] ?? "")).toMatchObject({ error: "TypeError: no socket" });
	});

	it("is the only way src/ logs: no console call and no local log function elsewhere", () => {
		const elsewhere: string[] = [];
		for (const file of sources(SRC)) {
			const name = relative(SRC, file);
			if (name === join("lib", "log.ts")) continue;
			const text = readFileSync(file, "utf8");
			if (/\bconsole\.\w+\(/.test(text)) elsewhere.push(`${name}: console`);
			if (/\bfunction log(Error|Warn|Info)?\s*\(/.test(text))
				elsewhere.push(`${name}: function log`);
		}
		expect(elsewhere).toEqual([]);
	});
});
