/**
 * The bench's model backend as a real HTTP server on loopback (the URL-backend
 * mode), in a process of its own so that neither the load generator nor
 * workerd pays for it: it reads the body and answers a fixed prediction.
 */
import { type ChildProcess, spawn } from "node:child_process";

const SERVER = `
const http = require("node:http");
const answer = JSON.stringify({ label: "positive", score: 0.91, version: "stub" });
const server = http.createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

export interface StubServer {
	url: string;
	stop(): Promise<void>;
}

export async function startStubServer(): Promise<StubServer> {
	const child: ChildProcess = spawn(process.execPath, ["-e", SERVER], {
		stdio: ["ignore", "pipe", "inherit"],
	});
	const port = await new Promise<number>((resolve, reject) => {
		child.once("error", reject);
		child.once("exit", (code) => reject(new Error(`the stub server exited (${code})`)));
		child.stdout?.once("data", (data: Buffer) => resolve(Number(String(data).trim())));
	});
	return {
		url: `http://127.0.0.1:${port}`,
		stop: () =>
			new Promise<void>((resolve) => {
				child.removeAllListeners("exit");
				child.once("exit", () => resolve());
				child.kill();
			}),
	};
}
