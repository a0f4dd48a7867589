/**
 * A service binding by name from the worker's environment: the one lookup
 * for backends (`service`) and notification targets alike. A name that is
 * not bound, or bound to something that cannot fetch, is null.
 */
export function fetcherOf(env: object, name: string): Fetcher | null {
	const binding: unknown = Reflect.get(env, name);
	return typeof binding === "object" &&
		binding !== null &&
		typeof Reflect.get(binding, "fetch") === "function"
		? (binding as Fetcher)
		: null;
}
