/** KV key layout (part of the external contract; see DESIGN.md). */
export const SPEC_PREFIX = "deployment:";
export const STATE_PREFIX = "state:";

export const specKey = (name: string) => `${SPEC_PREFIX}${name}`;
export const stateKey = (name: string) => `${STATE_PREFIX}${name}`;
