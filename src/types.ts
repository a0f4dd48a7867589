/** Hono's environment for Switchyard's app: the generated bindings. */
export type AppEnv = { Bindings: Env };
