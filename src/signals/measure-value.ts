/**
 * A measure's value in the nested metrics rows, and reading one back by its
 * dot path. No imports: the dashboard's bundle reads rows with it. Pure.
 */

/** A measure's value, or a group of them ("latency": { "p95": … }). */
export type MeasureValue = number | { [key: string]: MeasureValue };

/**
 * A measure's value by its path ("latency.p95") in nested values, when
 * present: a row as built, or as it crossed the wire as JSON.
 */
export function measureAt(values: object, path: string): number | undefined {
	let node: unknown = values;
	for (const part of path.split(".")) {
		if (typeof node !== "object" || node === null) return undefined;
		node = Reflect.get(node, part);
	}
	return typeof node === "number" ? node : undefined;
}
