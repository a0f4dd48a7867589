/** Every deployment with a spec in KV (paginated `list` by the key prefix). */
import { SPEC_PREFIX } from "./keys";

export async function listDeploymentNames(kv: KVNamespace): Promise<string[]> {
	const names: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await kv.list({ prefix: SPEC_PREFIX, cursor });
		for (const key of page.keys) names.push(key.name.slice(SPEC_PREFIX.length));
		cursor = page.list_complete ? undefined : page.cursor;
	} while (cursor);
	return names;
}
