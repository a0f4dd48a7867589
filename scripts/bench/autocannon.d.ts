/** The slice of autocannon (no bundled types) that the bench uses. */
declare module "autocannon" {
	interface Histogram {
		average: number;
		mean: number;
		p50: number;
		p90: number;
		p99: number;
		max: number;
	}
	interface RawRequest {
		method?: string;
		path?: string;
		headers?: Record<string, string>;
		body?: string;
	}
	interface Options {
		url: string;
		connections?: number;
		duration?: number;
		/** Stop after this many requests (instead of after `duration` seconds). */
		amount?: number;
		method?: string;
		headers?: Record<string, string>;
		body?: string;
		requests?: {
			method?: string;
			path?: string;
			headers?: Record<string, string>;
			body?: string;
			setupRequest?: (request: RawRequest) => RawRequest;
		}[];
	}
	interface Result {
		requests: Histogram & { total: number };
		latency: Histogram;
		errors: number;
		timeouts: number;
		non2xx: number;
		"2xx": number;
	}
	function autocannon(options: Options): Promise<Result>;
	export default autocannon;
}
