/**
 * The reference docs against the code they describe: every error code the
 * worker can answer with is listed in docs/operations.md under its status,
 * the full spec example parses, and every relative link (file and heading)
 * in the README and docs/ leads somewhere.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeploymentSpec } from "../../src/config/spec";
import { ERROR_STATUS } from "../../src/errors";
import { MEASURES } from "../../src/signals/registry";

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

describe("docs/operations.md's Prometheus table", () => {
	it("lists every family the export writes, and none it does not", () => {
		const doc = readFileSync("docs/operations.md", "utf8");
		const section = doc.slice(doc.indexOf("## Prometheus"), doc.indexOf("## Error codes"));
		const listed = new Set([...section.matchAll(/^\| `(switchyard_[a-z_]+)`/gm)].map((m) => m[1]));
		const written = new Set([
			...MEASURES.flatMap((m) => (m.prometheus ? [m.prometheus.name] : [])),
			"switchyard_window_seconds",
			"switchyard_weight_percent",
			"switchyard_step",
			"switchyard_rollout_status",
			"switchyard_revision",
		]);
		expect([...listed].sort()).toEqual([...written].sort());
	});
});

describe("docs/configuration.md", () => {
	it("spells out a full spec that parses, with every field of the schema", () => {
		const doc = readFileSync("docs/configuration.md", "utf8");
		const json = /```json\n(\{\n {2}"name"[\s\S]*?\n\})\n```/.exec(doc)?.[1];
		const example = JSON.parse(json ?? "null") as Record<string, unknown>;
		expect(DeploymentSpec.safeParse(example).success).toBe(true);
		expect(Object.keys(example).sort()).toEqual(Object.keys(DeploymentSpec.shape).sort());
	});
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
	const slugs = new Set<string>();
	const body = markdown.replace(/^```[\s\S]*?^```/gm, "");
	for (const [, heading] of body.matchAll(/^#{1,6} (.+)$/gm)) {
		const base = (heading ?? "")
			.toLowerCase()
			.replace(/[^\p{L}\p{N} _-]/gu, "")
			.replace(/ /g, "-");
		let slug = base;
		for (let n = 1; slugs.has(slug); n++) slug = `${base}-${n}`;
		slugs.add(slug);
	}
	return slugs;
}

describe("links in the README and docs/", () => {
	const pages = [
		"README.md",
		...readdirSync("docs")
			.filter((f) => f.endsWith(".md"))
			.map((f) => `docs/${f}`),
	];
	it.each(pages)("%s links to files and headings that exist", (page) => {
		const text = readFileSync(page, "utf8").replace(/^```[\s\S]*?^```/gm, "");
		const broken: string[] = [];
		for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
			if (!target || /^[a-z]+:/.test(target)) continue;
			const [file, anchor] = target.split("#");
			const path = file ? join(dirname(page), file) : page;
			if (!existsSync(path)) broken.push(target);
			else if (anchor && path.endsWith(".md") && !anchors(readFileSync(path, "utf8")).has(anchor))
				broken.push(target);
		}
		expect(broken).toEqual([]);
	});
});
