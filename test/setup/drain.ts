/**
 * After each integration file: wait until the background work its requests
 * started (the recorder's flushes, the shards' pushes to the deployment
 * objects) is done. Work that outlives the file reaches Vitest's module
 * runner after the file's teardown, and Vitest fails the run for it
 * ("Closing rpc while … was pending") although every test passed.
 */
import { afterAll, vi } from "vitest";
import { recorderIdle } from "../../src/metrics/recorder";
import { writtenDeployments } from "../helpers/edge";
import { settled } from "../helpers/metrics";
import { CONDITION } from "../helpers/wait";

afterAll(async () => {
	await vi.waitFor(() => {
		if (!recorderIdle()) throw new Error("the recorder still has batches in flight");
	}, CONDITION);
	for (const [name, shards] of writtenDeployments()) {
		// Draining only: a deployment a test left unable to settle (deleted, failing) is not a failure here.
		await settled(name, shards, 1000).catch(() => {});
	}
});
