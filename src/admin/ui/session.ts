/**
 * The page's session: the admin token (sessionStorage: this tab only, gone
 * when it closes), the deployment names the API listed, the selection and
 * the live-refresh timer.
 */

const TOKEN_KEY = "switchyard-admin-token";

/** The deployment name rule (config/spec.ts), checked again before a name enters a request. */
export const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const session: {
	selected: string | null;
	/** Valid names from the API's last list: the only names a request path is built from. */
	known: Set<string>;
	timer: ReturnType<typeof setInterval> | undefined;
	live: boolean;
} = { selected: null, known: new Set(), timer: undefined, live: true };

export function token(): string {
	return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function saveToken(value: string): void {
	sessionStorage.setItem(TOKEN_KEY, value);
}

/** Whether a name may be selected and requested: valid, and listed by the API. */
export function isKnown(name: string | null): name is string {
	return name !== null && NAME.test(name) && session.known.has(name);
}
