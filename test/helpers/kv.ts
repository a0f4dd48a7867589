/**
 * A stand-in for the CONFIG binding that wraps the real local KV and
 * misbehaves on purpose, the way KV does in the world: values a replica
 * behind still serves, slow calls, failing reads or writes. Everything not
 * overridden goes to the real binding.
 */
export interface KvFaults {
	/** key → the value a stale replica still returns (null: the key looks missing). */
	stale?: Map<string, string | null>;
	failReads?: boolean;
	failWrites?: boolean;
	/** Milliseconds added to every call. */
	delayMs?: number;
	/** Called with each key written, in order. */
	onWrite?: (key: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function unreliableKv(base: KVNamespace, faults: KvFaults): KVNamespace {
	const delay = () => (faults.delayMs ? sleep(faults.delayMs) : Promise.resolve());
	const override = (key: string, value: unknown) =>
		faults.stale?.has(key) ? (faults.stale.get(key) ?? null) : value;
	return new Proxy(base, {
		get(target, property) {
			if (property === "get") {
				return async (key: string | string[], type?: unknown) => {
					await delay();
					if (faults.failReads) throw new Error("KV read failed (injected)");
					const value = await (target.get as (k: unknown, t: unknown) => Promise<unknown>)(
						key,
						type,
					);
					if (!Array.isArray(key)) return override(key, value);
					const map = value as Map<string, unknown>;
					return new Map(key.map((k) => [k, override(k, map.get(k) ?? null)]));
				};
			}
			if (property === "put" || property === "delete") {
				return async (key: string, ...rest: unknown[]) => {
					await delay();
					if (faults.failWrites) throw new Error("KV write failed (injected)");
					faults.onWrite?.(key);
					const method = Reflect.get(target, property) as (...a: unknown[]) => Promise<unknown>;
					return method.call(target, key, ...rest);
				};
			}
			const value = Reflect.get(target, property);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}
