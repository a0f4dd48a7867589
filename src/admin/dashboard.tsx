/**
 * `/admin`: the dashboard. The page itself holds no data; its script asks for
 * the admin token and reads everything through the admin API, so it is
 * protected by exactly the same bearer auth as the API and the CLI. For the
 * selected deployment it shows the evidence behind the decisions: each
 * guardrail or A/B metric with both arms, the difference and its interval
 * against the margin, p and α; step progress; the weight over time with
 * every decision; per-minute charts; shadow disagreements side by side.
 */
import { Hono } from "hono";
import { raw } from "hono/html";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../types";
import { DASHBOARD_SCRIPT } from "./dashboard-script";

const STYLE = `
:root { --good: #137333; --bad: #b3261e; --neutral: #6b7280; --champion: #3b6fd8; --candidate: #e8710a; --shadow: #8e44ad; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2433; background: #f6f7f9; }
header { background: #1d2433; color: #fff; padding: 10px 24px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; } header small { opacity: .75; } header label { margin-left: auto; }
main { padding: 16px 24px; display: grid; gap: 16px; max-width: 1400px; }
section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { margin: 0 0 4px; font-size: 20px; } h3 { margin: 16px 0 6px; font-size: 15px; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eceef2; vertical-align: middle; }
thead th { font-size: 12px; color: #5f6b7a; font-weight: 600; } caption { text-align: left; color: #5f6b7a; padding: 4px 0 8px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.selected { background: #eef4ff; } .status { font-weight: 600; } tr.primary th { font-weight: 700; }
.status.promoted, .status.concluded { color: var(--good); } .status.aborted { color: var(--bad); } .status.paused { color: #8a5a00; }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid #7aa7ff; outline-offset: 2px; }
.verdict { font-weight: 600; } .verdict.good { color: var(--good); } .verdict.bad { color: var(--bad); } .verdict.neutral { color: var(--neutral); }
td.difference { display: flex; align-items: center; gap: 8px; border-bottom: none; }
.diff-text { font-variant-numeric: tabular-nums; white-space: nowrap; font-size: 12px; }
svg.interval { width: 240px; height: 26px; flex: none; }
svg.interval .zero { stroke: #9aa3af; stroke-width: 1; } svg.interval .margin-line { stroke: #1d2433; stroke-width: 1.5; stroke-dasharray: 3 2; }
svg.interval.good .ci, svg.interval.good .estimate { fill: var(--good); } svg.interval.bad .ci, svg.interval.bad .estimate { fill: var(--bad); }
svg.interval.neutral .ci, svg.interval.neutral .estimate { fill: var(--neutral); } svg.interval .ci { opacity: .45; }
#step-progress { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 4px 16px; }
#step-progress h3, #step-progress .srm { grid-column: 1 / -1; margin: 4px 0; }
.progress { display: grid; grid-template-columns: 9em 1fr auto; gap: 8px; align-items: center; } progress { width: 100%; height: 12px; }
.banner { background: #fff7e0; border: 1px solid #f0c36d; border-radius: 6px; padding: 8px 12px; }
#charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; background: #fafbfc; border: 1px solid #eceef2; border-radius: 4px; }
svg.chart polyline { fill: none; stroke-width: 2; } svg.chart text { font-size: 10px; fill: #5f6b7a; }
svg.chart .grid { stroke: #e5e7eb; stroke-width: 1; }
svg.chart .mark-line { stroke-width: 1; stroke-dasharray: 2 3; } svg.chart .mark-dot { stroke: #fff; stroke-width: 1.5; }
svg.chart .mark.good .mark-line { stroke: var(--good); } svg.chart .mark.good .mark-dot { fill: var(--good); }
svg.chart .mark.bad .mark-line { stroke: var(--bad); } svg.chart .mark.bad .mark-dot { fill: var(--bad); }
svg.chart .mark.neutral .mark-line { stroke: var(--neutral); } svg.chart .mark.neutral .mark-dot { fill: var(--neutral); }
.series.champion, .key.champion::before { stroke: var(--champion); background: var(--champion); }
.series.candidate, .key.candidate::before { stroke: var(--candidate); background: var(--candidate); }
.series.shadow, .key.shadow::before { stroke: var(--shadow); background: var(--shadow); }
circle.dot.champion { fill: var(--champion); } circle.dot.candidate { fill: var(--candidate); } circle.dot.shadow { fill: var(--shadow); }
.legend { display: flex; gap: 12px; font-size: 12px; } .key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12px; max-width: 40ch; }
button { margin-right: 6px; padding: 6px 12px; border-radius: 6px; border: 1px solid #c5cbd6; background: #fff; cursor: pointer; font: inherit; }
button.primary { background: #1d2433; color: #fff; border-color: #1d2433; }
.error { color: var(--bad); }
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
					<small id="updated" aria-live="polite" />
					<label>
						<input id="live" type="checkbox" checked /> live refresh
					</label>
				</header>
				<main>
					<section id="login" hidden>
						<form id="login-form">
							<label>
								Admin token <input id="token" type="password" autocomplete="off" required />
							</label>{" "}
							<button type="submit">Open</button>
							<p id="login-error" class="error" role="alert" />
						</form>
					</section>
					<div id="app" hidden>
						<section aria-label="Deployments">
							<table id="deployments">
								<thead>
									<tr>
										<th scope="col">Deployment</th>
										<th scope="col">Strategy</th>
										<th scope="col">Status</th>
										<th scope="col" class="num">
											Weight
										</th>
										<th scope="col">Last decision</th>
									</tr>
								</thead>
								<tbody />
							</table>
						</section>
						<section id="detail" hidden aria-labelledby="detail-title">
							<h2 id="detail-title">Deployment</h2>
							<p id="detail-state" />
							<p id="detail-summary" />
							<div id="approval-slot" />
							<p>
								{["start", "pause", "resume", "promote", "abort"].map((action) => (
									<button type="button" data-action={action}>
										{action}
									</button>
								))}
								<span id="action-error" class="error" role="alert" />
							</p>
							<div id="progress-slot" />
							<h3>Evidence</h3>
							<div id="evidence-slot" />
							<div id="charts" />
							<div id="shadow-slot" />
							<h3>Recent decisions</h3>
							<table id="history">
								<thead>
									<tr>
										<th scope="col">Time (UTC)</th>
										<th scope="col">Who</th>
										<th scope="col">What</th>
										<th scope="col">From → to</th>
										<th scope="col">Reason</th>
										<th scope="col">Notified</th>
									</tr>
								</thead>
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
