/**
 * The dashboard's browser entry (bundled into one inline script, see
 * ../dashboard-script.ts): asks for the admin token once (sessionStorage),
 * then reads and acts through the admin API with the same bearer auth and
 * the same typed client as the CLI, refreshing every 5 s while "live
 * refresh" is on. Plain DOM and SVG, no framework and no external asset.
 */
import type { STATE_ACTIONS } from "../routes/actions";
import { type DashboardClient, dashboardClient, deploymentParam, Unauthorized } from "./api";
import { loadDetail } from "./detail";
import { $ } from "./dom";
import { loadList } from "./list";
import { isKnown, saveToken, session, token } from "./session";

type Action = (typeof STATE_ACTIONS)[number];
/** The actions the page offers (its buttons and the approval gate). */
const ACTIONS: readonly Action[] = ["start", "pause", "resume", "promote", "abort", "approve"];
const isAction = (x: string | undefined): x is Action => ACTIONS.some((a) => a === x);

function showLogin(message: string): void {
	$("#login").hidden = false;
	$("#app").hidden = true;
	$("#login-error").textContent = message;
	$<HTMLInputElement>("#token").focus();
}

const client: DashboardClient = dashboardClient(() => showLogin("That token was refused."));

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function refresh(): Promise<void> {
	try {
		await loadList(client, select);
		if (!isKnown(session.selected)) session.selected = null;
		for (const row of document.querySelectorAll<HTMLElement>("#deployments tr[data-name]"))
			row.classList.toggle("selected", row.dataset.name === session.selected);
		await loadDetail(client);
		$("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
	} catch (error) {
		if (!(error instanceof Unauthorized))
			$("#updated").textContent = `refresh failed: ${messageOf(error)}`;
	}
}

function select(name: string): void {
	if (!isKnown(name)) return;
	session.selected = name;
	history.replaceState(null, "", `#${name}`);
	void refresh();
}

async function act(action: Action): Promise<void> {
	const { api, call } = client;
	try {
		const param = { ...deploymentParam(session.selected), action };
		await call(
			api.deployments[":name"][":action"].$post({ param, json: { reason: "from the dashboard" } }),
		);
		$("#action-error").textContent = "";
	} catch (error) {
		$("#action-error").textContent = messageOf(error);
	}
	await refresh();
}

function schedule(): void {
	clearInterval(session.timer);
	if (session.live) session.timer = setInterval(() => void refresh(), 5000);
}

/** The fragment, decoded; it only ever selects a deployment the API lists, never enters a request. */
function wanted(): string {
	try {
		return decodeURIComponent(location.hash.slice(1));
	} catch {
		return "";
	}
}

async function start(): Promise<void> {
	$("#login").hidden = true;
	$("#app").hidden = false;
	const name = wanted();
	session.selected = null;
	try {
		await loadList(client, select);
	} catch {
		return;
	}
	if (isKnown(name)) session.selected = name;
	await refresh();
	schedule();
}

$("#login-form").addEventListener("submit", async (event) => {
	event.preventDefault();
	saveToken($<HTMLInputElement>("#token").value.trim());
	try {
		await client.call(client.api.deployments.$get());
		void start();
	} catch {
		// A refused token: showLogin already explained.
	}
});
document.addEventListener("click", (event) => {
	const button =
		event.target instanceof Element ? event.target.closest<HTMLElement>("[data-action]") : null;
	const action = button?.dataset.action;
	if (isAction(action)) void act(action);
});
$<HTMLInputElement>("#live").addEventListener("change", (event) => {
	session.live = event.target instanceof HTMLInputElement && event.target.checked;
	schedule();
});
if (token()) void start();
else showLogin("");
