/**
 * `/admin`: the dashboard. The page itself holds no data; its script asks for
 * the admin token and reads everything through the admin API, so it is
 * protected by exactly the same bearer auth as the API and the CLI.
 */
import { Hono } from "hono";
import { raw } from "hono/html";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../types";
import { DASHBOARD_SCRIPT } from "./dashboard-script";

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2433; background: #f6f7f9; }
header { background: #1d2433; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; } header small { opacity: .7; }
main { padding: 16px 24px; display: grid; gap: 16px; }
section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eceef2; vertical-align: top; }
tr.selected { background: #eef4ff; } .status { font-weight: 600; }
.status.promoted, .status.concluded { color: #137333; } .status.aborted { color: #b3261e; } .status.paused { color: #8a5a00; }
#charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 12px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: 160px; background: #fafbfc; border: 1px solid #eceef2; border-radius: 4px; }
svg.chart polyline { fill: none; stroke-width: 2; } svg.chart text { font-size: 10px; fill: #5f6b7a; }
.series.champion, .key.champion::before { stroke: #3b6fd8; background: #3b6fd8; }
.series.candidate, .key.candidate::before { stroke: #e8710a; background: #e8710a; }
.series.shadow, .key.shadow::before { stroke: #8e44ad; background: #8e44ad; }
circle.dot.champion { fill: #3b6fd8; } circle.dot.candidate { fill: #e8710a; } circle.dot.shadow { fill: #8e44ad; }
.legend { display: flex; gap: 12px; font-size: 12px; } .key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
button { margin-right: 6px; padding: 6px 12px; border-radius: 6px; border: 1px solid #c5cbd6; background: #fff; cursor: pointer; }
.error { color: #b3261e; }
`;

function Page(props: { nonce: string }) {
	return (
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<title>Switchyard</title>
				<style nonce={props.nonce}>{raw(STYLE)}</style>
			</head>
			<body>
				<header>
					<h1>Switchyard</h1>
					<small>model rollouts at the edge</small>
					<small id="updated" />
				</header>
				<main>
					<section id="login" hidden>
						<form id="login-form">
							<label>
								Admin token <input id="token" type="password" autocomplete="off" required />
							</label>{" "}
							<button type="submit">Open</button>
							<p id="login-error" class="error" />
						</form>
					</section>
					<div id="app" hidden>
						<section>
							<table id="deployments">
								<thead>
									<tr>
										<th>Deployment</th>
										<th>Strategy</th>
										<th>Status</th>
										<th>Weight</th>
										<th>Last decision</th>
									</tr>
								</thead>
								<tbody />
							</table>
						</section>
						<section id="detail" hidden>
							<h2 id="detail-title">Deployment</h2>
							<p id="detail-state" />
							<p id="detail-summary" />
							<p>
								{["start", "pause", "resume", "promote", "abort"].map((action) => (
									<button type="button" data-action={action}>
										{action}
									</button>
								))}
								<span id="action-error" class="error" />
							</p>
							<div id="charts" />
							<h3>Recent decisions</h3>
							<table id="history">
								<tbody />
							</table>
						</section>
					</div>
				</main>
				<script nonce={props.nonce}>{raw(DASHBOARD_SCRIPT)}</script>
			</body>
		</html>
	);
}

export const dashboard = new Hono<AppEnv>()
	.use(
		secureHeaders({
			contentSecurityPolicy: {
				defaultSrc: ["'none'"],
				scriptSrc: [NONCE],
				styleSrc: [NONCE],
				connectSrc: ["'self'"],
				imgSrc: ["'self'", "data:"],
				formAction: ["'self'"],
				frameAncestors: ["'none'"],
			},
		}),
	)
	.get("/", (c) => c.html(<Page nonce={c.get("secureHeadersNonce") ?? ""} />));
