/** A JSON value: what survives JSON.stringify, and what RPC and the admin API carry as free-form details. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A value as plain JSON (drops undefined, turns non-finite numbers into null). */
export function toJson(value: unknown): Json {
	return JSON.parse(JSON.stringify(value)) as Json;
}
