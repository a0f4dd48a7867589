/**
 * The dashboard's browser script, as a string served inline (with a CSP
 * nonce). Plain DOM and SVG, no framework: it asks for the admin token once
 * (kept in sessionStorage), then reads and acts through the admin API with
 * the same bearer auth as the CLI.
 */
export const DASHBOARD_SCRIPT = /* js */ `
const TOKEN_KEY = "switchyard-admin-token";
const $ = (selector) => document.querySelector(selector);
const state = { selected: null, timer: null };

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, init = {}) {
  const res = await fetch("/admin/api" + path, {
    ...init,
    headers: { authorization: "Bearer " + token(), ...(init.body ? { "content-type": "application/json" } : {}) },
  });
  if (res.status === 401) { showLogin("That token was refused."); throw new Error("unauthorized"); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.addEventListener("click", v); else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function showLogin(message) {
  $("#login").hidden = false;
  $("#app").hidden = true;
  $("#login-error").textContent = message || "";
}

function pct(x) { return (x * 100).toFixed(2) + " %"; }

async function loadList() {
  const { deployments } = await api("/deployments");
  const rows = deployments.map((d) =>
    el("tr", { "data-name": d.name, class: d.name === state.selected ? "selected" : "" },
      el("td", {}, el("a", { href: "#" + d.name, onclick: (e) => { e.preventDefault(); select(d.name); } }, d.name)),
      el("td", {}, d.strategy || "invalid spec"),
      el("td", { class: "status " + d.status }, d.status),
      el("td", {}, d.weight + " %"),
      el("td", {}, d.lastDecision ? d.lastDecision.kind + ": " + d.lastDecision.reason : d.reason)));
  $("#deployments tbody").replaceChildren(...rows);
}

function chart(title, series, unit) {
  const width = 560, height = 160, pad = 30;
  const points = series.flatMap((s) => s.points);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("class", "chart");
  svg.setAttribute("aria-label", title);
  if (points.length === 0) return el("figure", {}, el("figcaption", {}, title + " — no data yet"));
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 60000), y1 = Math.max(...ys, 1e-9);
  const sx = (x) => pad + ((x - x0) / (x1 - x0)) * (width - 2 * pad);
  const sy = (y) => height - pad - (y / y1) * (height - 2 * pad);
  for (const s of series) {
    if (s.points.length === 0) continue;
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", s.points.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" "));
    line.setAttribute("class", "series " + s.name);
    line.setAttribute("data-variant", s.name);
    svg.append(line);
    for (const p of s.points) {
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("cx", sx(p[0]).toFixed(1)); dot.setAttribute("cy", sy(p[1]).toFixed(1)); dot.setAttribute("r", "3");
      dot.setAttribute("class", "dot " + s.name);
      svg.append(dot);
    }
  }
  const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
  label.setAttribute("x", "4"); label.setAttribute("y", "12");
  label.textContent = "max " + (unit === "%" ? pct(y1) : y1.toFixed(1) + " " + unit);
  svg.append(label);
  const legend = el("div", { class: "legend" }, ...series.map((s) => el("span", { class: "key " + s.name }, s.name)));
  return el("figure", {}, el("figcaption", {}, title), svg, legend);
}

function seriesOf(rows, value) {
  const byVariant = {};
  for (const row of rows) (byVariant[row.variant] ||= []).push([Date.parse(row.minute), value(row)]);
  return Object.entries(byVariant).map(([name, points]) => ({ name, points }));
}

function summary(analysis) {
  if (!analysis) return "The spec in KV is invalid.";
  if (analysis.strategy === "canary") {
    const s = analysis.step;
    return "Step " + s.index + " at " + s.weight + " %: " + s.candidate + "/" + s.minRequests + " candidate requests, " +
      Math.floor(s.elapsedSeconds) + " of " + s.bakeSeconds + " s baked. Guardrails: " +
      analysis.guardrails.map((g) => g.name + " " + g.status + " (p = " + g.pValue.toPrecision(3) + ")").join(", ");
  }
  if (analysis.strategy === "ab") return "Verdict: " + analysis.verdict + ". " + analysis.summary;
  const c = analysis.comparisons;
  return "Agreement " + pct(c.agreement) + " over " + c.compared + " comparisons. " + analysis.promotion.reason;
}

async function loadDetail() {
  const name = state.selected;
  if (!name) return;
  const [detail, metrics, history] = await Promise.all([
    api("/deployments/" + name),
    api("/deployments/" + name + "/metrics"),
    api("/deployments/" + name + "/history?limit=10"),
  ]);
  const s = detail.state;
  $("#detail-title").textContent = name;
  $("#detail-state").textContent = s.status + " at " + s.weight + " % — " + s.reason;
  $("#detail-state").setAttribute("data-status", s.status);
  $("#detail-summary").textContent = summary(detail.analysis);
  $("#charts").replaceChildren(
    chart("Requests per minute", seriesOf(metrics.rows, (r) => r.requests), "req"),
    chart("Error rate", seriesOf(metrics.rows, (r) => (r.requests ? r.errors / r.requests : 0)), "%"),
    chart("p95 latency", seriesOf(metrics.rows, (r) => r.latency.p95), "ms"),
  );
  $("#history tbody").replaceChildren(...history.entries.map((e) =>
    el("tr", {}, el("td", {}, e.time.replace("T", " ").slice(0, 19)), el("td", {}, e.actor), el("td", {}, e.kind),
      el("td", {}, (e.from ? e.from.status + " " + e.from.weight + " %" : "—") + " → " + e.to.status + " " + e.to.weight + " %"),
      el("td", {}, e.reason))));
  $("#detail").hidden = false;
}

async function act(action) {
  const name = state.selected;
  try {
    await api("/deployments/" + name + "/" + action, { method: "POST", body: JSON.stringify({ reason: "from the dashboard" }) });
    $("#action-error").textContent = "";
  } catch (error) {
    $("#action-error").textContent = error.message;
  }
  await refresh();
}

function select(name) {
  state.selected = name;
  history.replaceState(null, "", "#" + name);
  refresh();
}

async function refresh() {
  try {
    await loadList();
    await loadDetail();
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (error) {
    if (error.message !== "unauthorized") $("#updated").textContent = "refresh failed: " + error.message;
  }
}

function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  state.selected = decodeURIComponent(location.hash.slice(1)) || null;
  refresh();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, 5000);
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  try { await api("/deployments"); start(); } catch { /* showLogin already explained */ }
});
for (const button of document.querySelectorAll("[data-action]")) button.addEventListener("click", () => act(button.dataset.action));
if (token()) start(); else showLogin("");
`;
