/** KV key layout (part of the external contract; see DESIGN.md). */
export const SPEC_PREFIX = "deployment:";
export const STATE_PREFIX = "state:";
/** Every deployment's name, so the edge answers unknown names without a KV read each. */
export const INDEX_KEY = "index:deployments";

export const specKey = (name: string) => `${SPEC_PREFIX}${name}`;
export const stateKey = (name: string) => `${STATE_PREFIX}${name}`;
/** The deployment a spec or state key belongs to. */
export const nameOfKey = (key: string) => key.slice(key.indexOf(":") + 1);
