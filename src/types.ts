/** Hono's environment for Switchyard's app: the generated bindings, and the CSP nonce of secure-headers. */
import type { SecureHeadersVariables } from "hono/secure-headers";

export type AppEnv = { Bindings: Env; Variables: SecureHeadersVariables };
