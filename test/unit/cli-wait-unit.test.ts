/** `switchyard wait`: when a rollout has reached what a CI step waits for. */
import { describe, expect, it } from "vitest";
import { endedElsewhere, type Observed, reached } from "../../scripts/cli/wait";

const at = (status: string, last: Observed["lastDecision"] = null): Observed => ({
	status,
	weight: 10,
	step: 0,
	reason: "",
	lastDecision: last,
});
const hold = (reason: string, code?: string) => ({
	kind: "hold",
	reason,
	time: "2026-12-08T10:00:00.000Z",
	...(code ? { code } : {}),
});

describe("switchyard wait", () => {
	it("reaches a status when the rollout has it", () => {
		expect(reached("running", at("running"))).toBe(true);
		expect(reached("promoted", at("running"))).toBe(false);
	});

	it("reaches awaiting_approval on a live rollout held by an approval gate", () => {
		expect(
			reached("awaiting_approval", at("running", hold("awaiting approval to go to 50 %: …"))),
		).toBe(true);
		expect(reached("awaiting_approval", at("paused", hold("anything", "awaiting_approval")))).toBe(
			true,
		);
		expect(reached("awaiting_approval", at("running", hold("baking at 10 %")))).toBe(false);
		expect(
			reached("awaiting_approval", at("aborted", hold("awaiting approval to go to 50 %"))),
		).toBe(false);
	});

	it("says a rollout that ended in another state cannot reach the awaited one", () => {
		expect(endedElsewhere("promoted", at("aborted"))).toBe(true);
		expect(endedElsewhere("aborted", at("aborted"))).toBe(false);
		expect(endedElsewhere("promoted", at("paused"))).toBe(false);
		expect(endedElsewhere("awaiting_approval", at("concluded"))).toBe(true);
	});
});
