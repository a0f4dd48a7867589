/** The limit: a bare pass-through worker forwarding every request to the same stub backend. */
interface BareEnv {
	STUB: Fetcher;
}

export default {
	fetch(request: Request, env: BareEnv): Promise<Response> {
		return env.STUB.fetch(request);
	},
} satisfies ExportedHandler<BareEnv>;
