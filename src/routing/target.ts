/**
 * Where a prediction request points: its origin, its raw path and query,
 * found without a full URL parse (hot path), and the check that the rest of
 * its path cannot climb out of a backend's base path.
 */

/** The parts of an incoming URL the proxy needs, found without a full URL parse (hot path). */
export interface RequestTarget {
	/** "https://edge.example.com" */
	origin: string;
	/** The raw (still percent-encoded) path. */
	path: string;
	/** "?a=1" or "". */
	search: string;
	secure: boolean;
}

export function requestTarget(rawUrl: string): RequestTarget {
	const pathStart = rawUrl.indexOf("/", rawUrl.indexOf("//") + 2);
	const origin = pathStart < 0 ? rawUrl : rawUrl.slice(0, pathStart);
	const rest = pathStart < 0 ? "/" : rawUrl.slice(pathStart);
	const hash = rest.indexOf("#");
	const withoutHash = hash < 0 ? rest : rest.slice(0, hash);
	const query = withoutHash.indexOf("?");
	return {
		origin,
		path: query < 0 ? withoutHash : withoutHash.slice(0, query),
		search: query < 0 ? "" : withoutHash.slice(query),
		secure: rawUrl.startsWith("https:"),
	};
}

const CLIMBING = /(?:^|\/|%2f)(?:\.|%2e){1,2}(?:;[^/]*)?(?:\/|%2f|$)|\\|%5c/i;

/**
 * True when the rest of a path has `.` or `..` segments (plain or
 * percent-encoded, between plain or encoded slashes, since some backends
 * decode `%2F`; or with a `;parameter` as some servers read `..;`) or
 * backslashes: appended to a backend's base URL, a URL
 * parser would resolve them and climb out of the base path. Such a path is
 * refused, never forwarded.
 */
export function climbsOut(restPath: string): boolean {
	return CLIMBING.test(restPath);
}
