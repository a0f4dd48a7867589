/**
 * Traffic: requests per variant, and how they were served — fallbacks to the
 * champion, units an isolate's breaker diverted, and client faults (4xx, a
 * client gone, a refused body: counted, never charged). Exported only; the
 * step's sample sizes and the sample-ratio test read the same counters.
 */
import type { Signal } from "./types";

export const traffic: Signal = {
	name: "traffic",
	measures: [
		{
			path: "requests",
			csv: "requests",
			prometheus: { name: "switchyard_requests", help: "Requests served per variant" },
			read: ({ aggregate }) => aggregate.requests,
		},
	],
};

/** How requests were served (listed after the errors, so the export reads requests, errors, …). */
export const serving: Signal = {
	name: "serving",
	measures: [
		{
			path: "fallbacks",
			csv: "fallbacks",
			prometheus: {
				name: "switchyard_fallbacks",
				help: "Candidate failures answered by the champion",
			},
			read: ({ aggregate }) => aggregate.fallbacks,
		},
		{
			path: "diverted",
			csv: "diverted",
			prometheus: {
				name: "switchyard_diverted",
				help: "Candidate requests an isolate's breaker sent to the champion",
			},
			read: ({ aggregate }) => aggregate.diverted,
		},
		{
			path: "clientFaults",
			csv: "client_faults",
			prometheus: {
				name: "switchyard_client_faults",
				help: "Requests the client broke (4xx answers, clients gone, refused bodies), never charged to a variant",
			},
			read: ({ aggregate }) => aggregate.clientFaults,
		},
	],
};
