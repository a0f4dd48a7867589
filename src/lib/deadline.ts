/**
 * Deadlines on calls that may hang: a KV call that never answers must not
 * hold a deployment object's queue of operations forever.
 */

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | null = null;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
	});
	return Promise.race([promise, late]).finally(() => {
		if (timer !== null) clearTimeout(timer);
	});
}

const BOUNDED = new Set(["get", "getWithMetadata", "put", "delete", "list"]);

/** The KV binding with a deadline on each call. */
export function boundedKv(kv: KVNamespace, ms: number): KVNamespace {
	return new Proxy(kv, {
		get(target, property) {
			const value: unknown = Reflect.get(target, property);
			if (typeof value !== "function") return value;
			if (typeof property !== "string" || !BOUNDED.has(property)) return value.bind(target);
			return (...args: unknown[]) =>
				withDeadline(Promise.resolve(value.apply(target, args)), ms, `KV ${property}`);
		},
	});
}
