/**
 * The reference docs against the code they describe: every error code the
 * worker can answer with is listed in docs/operations.md under its status.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../../src/errors";

describe("docs/operations.md", () => {
	it("lists every error code under its one status, and no other", () => {
		const doc = readFileSync("docs/operations.md", "utf8");
		const listed = new Map<string, number>();
		for (const [, status, codes] of doc.matchAll(/^\| (\d{3})\s*\| (.+?)\s*\|$/gm))
			for (const [, code] of (codes ?? "").matchAll(/`([a-z_]+)`/g))
				listed.set(code ?? "", Number(status));
		expect(Object.fromEntries(listed)).toEqual(ERROR_STATUS);
	});
});
