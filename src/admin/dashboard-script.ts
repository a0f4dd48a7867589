/**
 * The dashboard's browser script, as a string served inline (with a CSP
 * nonce). Plain DOM and SVG, no framework and no external asset: it asks for
 * the admin token once (kept in sessionStorage), then reads and acts through
 * the admin API with the same bearer auth as the CLI.
 *
 * Safety: request paths are built only from a deployment name that matches
 * the name rule AND is in the list the API returned, encoded; the URL
 * fragment only ever selects such a name, so a crafted link cannot make the
 * page send the token anywhere but /admin/api.
 */
export const DASHBOARD_SCRIPT = /* js */ `
"use strict";
const TOKEN_KEY = "switchyard-admin-token";
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const $ = (selector) => document.querySelector(selector);
const SVG = "http://www.w3.org/2000/svg";
const state = { selected: null, known: new Set(), timer: null, live: true };

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

/** The API path of a deployment: only for a valid name the API listed. */
function deploymentPath(name, rest) {
  if (!NAME.test(name) || !state.known.has(name)) throw new Error("unknown deployment");
  return "/deployments/" + encodeURIComponent(name) + (rest || "");
}

async function request(path, init = {}) {
  if (!path.startsWith("/") || path.includes("..") || path.includes("//")) throw new Error("bad path");
  const res = await fetch("/admin/api" + path, {
    ...init,
    headers: { authorization: "Bearer " + token(), ...(init.body ? { "content-type": "application/json" } : {}) },
  });
  if (res.status === 401) { showLogin("That token was refused."); throw new Error("unauthorized"); }
  if (!res.ok) {
    let message = res.statusText;
    try { const body = await res.json(); if (body.error) message = body.error.message; } catch {}
    throw new Error(message);
  }
  return res;
}
const api = async (path, init) => (await request(path, init)).json();
const ndjson = async (path) => (await (await request(path)).text()).split("\\n").filter(Boolean).map((l) => JSON.parse(l));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick") node.addEventListener("click", v); else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function showLogin(message) {
  $("#login").hidden = false;
  $("#app").hidden = true;
  $("#login-error").textContent = message || "";
  $("#token").focus();
}

// Numbers for people. Missing or non-finite values show as "—".
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const pct = (x, d = 2) => isNum(x) ? (x * 100).toFixed(d) + " %" : "—";
const pp = (x, d = 2) => isNum(x) ? (x >= 0 ? "+" : "−") + Math.abs(x * 100).toFixed(d) + " pp" : "—";
const ms = (x) => isNum(x) ? x.toFixed(1) + " ms" : "—";
const signedMs = (x) => isNum(x) ? (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(1) + " ms" : "—";
const plain = (x) => isNum(x) ? x.toFixed(4) : "—";
const signed = (x) => isNum(x) ? (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4) : "—";
const pval = (p) => isNum(p) ? (p >= 1e-4 ? p.toFixed(4) : p.toExponential(1)) : "—";
const clock = (t) => new Date(t).toISOString().slice(11, 16);

/** Units per metric: value, difference, margin. */
function unitsOf(metric) {
  if (metric === "error_rate") return { value: pct, diff: pp, label: "error rate" };
  if (metric === "latency_p95") return { value: ms, diff: signedMs, label: "p95 latency" };
  if (metric === "latency") return { value: ms, diff: signedMs, label: "mean latency" };
  return { value: plain, diff: signed, label: metric === "feedback" ? "feedback" : String(metric) };
}

async function loadList() {
  const { deployments } = await api("/deployments");
  state.known = new Set(deployments.map((d) => d.name).filter((n) => NAME.test(n)));
  const rows = deployments.filter((d) => state.known.has(d.name)).map((d) =>
    el("tr", { "data-name": d.name, class: d.name === state.selected ? "selected" : "" },
      el("td", {}, el("a", { href: "#" + d.name, onclick: (e) => { e.preventDefault(); select(d.name); } }, d.name)),
      el("td", {}, d.strategy || "invalid spec"),
      el("td", { class: "status " + d.status }, d.status),
      el("td", { class: "num" }, d.weight + " %"),
      el("td", {}, d.lastDecision ? d.lastDecision.kind + ": " + d.lastDecision.reason : d.reason)));
  $("#deployments tbody").replaceChildren(...rows);
  return deployments;
}

/** An interval against a reference line (the margin, or 0), coloured by the verdict. */
function intervalBar(row) {
  const width = 240, height = 26, pad = 8;
  const ends = [row.ci && row.ci[0], row.ci && row.ci[1]];
  const finite = [0, row.reference, row.estimate, ...ends].filter(isNum);
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
  const span = hi - lo; lo -= span * 0.15; hi += span * 0.15;
  const x = (v) => pad + ((v - lo) / (hi - lo)) * (width - 2 * pad);
  const s = svg("svg", { viewBox: "0 0 " + width + " " + height, class: "interval " + row.verdict, role: "img",
    "aria-label": row.label + ": difference " + row.text + " against " + row.referenceText });
  s.append(svg("title", {}, row.label + ": " + row.text + " (reference " + row.referenceText + ")"));
  s.append(svg("line", { x1: x(0), x2: x(0), y1: 3, y2: height - 3, class: "zero" }));
  if (isNum(row.reference) && row.reference !== 0)
    s.append(svg("line", { x1: x(row.reference), x2: x(row.reference), y1: 1, y2: height - 1, class: "margin-line" }));
  const left = isNum(ends[0]) ? x(ends[0]) : pad, right = isNum(ends[1]) ? x(ends[1]) : width - pad;
  if (isNum(ends[0]) || isNum(ends[1]))
    s.append(svg("rect", { x: Math.min(left, right), y: 9, width: Math.max(2, Math.abs(right - left)), height: 8, rx: 2, class: "ci" }));
  if (isNum(row.estimate)) s.append(svg("circle", { cx: x(row.estimate), cy: 13, r: 4, class: "estimate" }));
  return s;
}

function guardrailRow(g, spec) {
  const u = unitsOf(g.name);
  // Worse is up for error rate and latency; for feedback it is the direction the spec says is worse.
  const lowerIsWorse = g.name === "feedback" && spec && spec.canary && spec.canary.feedback && spec.canary.feedback.better !== "lower";
  const reference = isNum(g.margin) ? (lowerIsWorse ? -g.margin : g.margin) : 0;
  const verdict = g.status === "fail" ? "bad" : g.status === "pass" ? "good" : "neutral";
  const ci = Array.isArray(g.ci) ? g.ci : [null, null];
  const text = u.diff(g.difference) + " [" + (isNum(ci[0]) ? u.diff(ci[0]) : "−∞") + ", " + (isNum(ci[1]) ? u.diff(ci[1]) : "+∞") + "]";
  return el("tr", { "data-metric": g.name, "data-verdict": verdict },
    el("th", { scope: "row" }, u.label),
    el("td", { class: "num champion" }, u.value(g.champion)),
    el("td", { class: "num candidate" }, u.value(g.candidate)),
    el("td", { class: "difference" }, intervalBar({ ci, estimate: g.difference, reference, verdict, label: u.label, text, referenceText: "margin " + u.diff(reference) }),
      el("span", { class: "diff-text" }, text)),
    el("td", { class: "num margin" }, u.diff(reference)),
    el("td", { class: "num p" }, pval(g.pValue)),
    el("td", { class: "num alpha" }, isNum(g.alpha) ? g.alpha.toFixed(4) : "—"),
    el("td", { class: "verdict " + verdict }, g.status || "—"));
}

function abRow(m, analysis, spec) {
  const u = unitsOf(m.metric);
  const better = m.metric === "feedback" ? (spec && spec.ab && spec.ab.better) || "higher" : "lower";
  const ci = Array.isArray(m.ci) ? m.ci : [null, null];
  const alpha = spec && spec.ab ? spec.ab.alpha : null;
  // The colour is the decision's: the always-valid test at α, in the direction that is better.
  const significant = !m.insufficient && isNum(m.alwaysValidPValue) && isNum(alpha) && m.alwaysValidPValue <= alpha;
  const improves = better === "higher" ? m.difference > 0 : m.difference < 0;
  const verdict = !significant ? "neutral" : improves ? "good" : "bad";
  const text = u.diff(m.difference) + " [" + (isNum(ci[0]) ? u.diff(ci[0]) : "−∞") + ", " + (isNum(ci[1]) ? u.diff(ci[1]) : "+∞") + "]";
  return el("tr", { "data-metric": m.metric, "data-verdict": verdict, class: m.metric === analysis.primary ? "primary" : "" },
    el("th", { scope: "row" }, u.label + (m.metric === analysis.primary ? " (decision metric)" : "")),
    el("td", { class: "num champion" }, u.value(m.champion)),
    el("td", { class: "num candidate" }, u.value(m.candidate)),
    el("td", { class: "difference" }, intervalBar({ ci, estimate: m.difference, reference: 0, verdict, label: u.label, text, referenceText: "no difference" }),
      el("span", { class: "diff-text" }, text)),
    el("td", { class: "num margin" }, "0"),
    el("td", { class: "num p" }, pval(m.alwaysValidPValue), el("small", {}, " fixed " + pval(m.pValue))),
    el("td", { class: "num alpha" }, isNum(alpha) ? String(alpha) : "—"),
    el("td", { class: "verdict " + verdict }, m.insufficient ? "insufficient" : verdict === "good" ? "better" : verdict === "bad" ? "worse" : "no difference yet"));
}

function evidence(detail) {
  const a = detail.analysis, spec = detail.spec;
  const head = el("thead", {}, el("tr", {}, ...["metric", "champion", "candidate", "difference (candidate − champion) and interval", "margin", "p", "α", "verdict"].map((h) => el("th", { scope: "col" }, h))));
  if (!a) return el("p", { class: "error" }, "No analysis: the spec in KV is invalid.");
  let rows = [], caption = "";
  if (a.strategy === "canary" || a.strategy === "shadow") {
    rows = (a.guardrails || []).map((g) => guardrailRow(g, spec));
    caption = "Guardrails over the whole rollout: always-valid one-sided tests of \\"worse by more than the margin\\" (green passing, grey not enough data, red failing).";
  } else if (a.strategy === "ab") {
    rows = (a.metrics || []).map((m) => abRow(m, a, spec));
    caption = "A/B metrics: difference with its fixed-horizon 95 % interval against no difference; p is always-valid (fixed-horizon beside it), and the colour is its verdict at α (green better, grey no difference yet, red worse).";
  }
  return el("table", { id: "evidence" }, el("caption", {}, caption), head, el("tbody", {}, rows));
}

function progress(label, value, max, text, id) {
  const v = Math.max(0, Math.min(isNum(value) ? value : 0, max));
  return el("div", { class: "progress", id },
    el("label", { for: id + "-bar" }, label),
    el("progress", { id: id + "-bar", max: String(max), value: String(v) }),
    el("span", { class: "progress-text" }, text));
}

function stepProgress(a) {
  if (!a || a.strategy !== "canary" || !a.step) return null;
  const s = a.step;
  return el("div", { id: "step-progress" },
    el("h3", {}, "Step " + s.index + " at " + s.weight + " %"),
    progress("Bake time", s.elapsedSeconds, Math.max(1, s.bakeSeconds), Math.floor(s.elapsedSeconds) + " of " + s.bakeSeconds + " s", "bake"),
    progress("Candidate requests", s.candidate, Math.max(1, s.minRequests), s.candidate + " of " + s.minRequests, "candidate-requests"),
    progress("Champion requests", s.champion, Math.max(1, s.minRequests), s.champion + " of " + s.minRequests, "champion-requests"),
    el("p", { class: "srm" + (a.srm && a.srm.mismatch ? " error" : "") }, "Sample ratio: χ² p = " + pval(a.srm && a.srm.pValue) + (a.srm && a.srm.mismatch ? " — MISMATCH" : " (ok)")));
}

function verdictLine(a) {
  if (!a) return "";
  if (a.strategy === "ab") return "Verdict: " + a.verdict + ". " + (a.summary || "");
  if (a.strategy === "shadow") { const c = a.comparisons || {}; return "Agreement " + pct(c.agreement) + " over " + c.compared + " comparisons. " + (a.promotion ? a.promotion.reason : ""); }
  const failing = (a.guardrails || []).filter((g) => g.status === "fail").map((g) => g.name);
  return failing.length ? "Failing guardrails: " + failing.join(", ") : "Guardrails: " + (a.guardrails || []).map((g) => g.name + " " + g.status).join(", ");
}

/** A time chart: x is time with HH:MM ticks, y has its unit. */
function timeChart(title, series, unit, options = {}) {
  const width = 560, height = 190, left = 72, right = 16, top = 12, bottom = 28;
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) return el("figure", {}, el("figcaption", {}, title + " — no data yet"));
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = options.from ?? Math.min(...xs), x1 = Math.max(options.to ?? 0, ...xs, x0 + 60000);
  const y1 = options.yMax ?? Math.max(...ys, 1e-9);
  const sx = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const sy = (y) => height - bottom - (y / y1) * (height - top - bottom);
  const fmt = unit === "%" ? (v) => pct(v, 1) : (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " " + unit;
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, class: "chart", role: "img", "aria-label": title });
  chart.append(svg("title", {}, title));
  for (const f of [0, 0.5, 1]) {
    const y = sy(y1 * f);
    chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
    chart.append(svg("text", { x: left - 4, y: y + 3, "text-anchor": "end", class: "y-tick" }, fmt(y1 * f)));
  }
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const t = x0 + ((x1 - x0) * i) / ticks;
    chart.append(svg("text", { x: sx(t), y: height - 8, "text-anchor": "middle", class: "x-tick" }, clock(t)));
  }
  chart.append(svg("text", { x: width - right, y: height - 8 + 0, "text-anchor": "end", class: "axis-label" }, ""));
  for (const s of series) {
    if (s.points.length === 0) continue;
    const path = options.step
      ? s.points.map((p, i) => (i === 0 ? "" : sx(p[0]).toFixed(1) + "," + sy(s.points[i - 1][1]).toFixed(1) + " ") + sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" ")
      : s.points.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" ");
    chart.append(svg("polyline", { points: path, class: "series " + s.name, "data-variant": s.name }));
    if (!options.step) for (const p of s.points) chart.append(svg("circle", { cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: 2.5, class: "dot " + s.name }));
  }
  for (const m of options.marks || []) {
    const g = svg("g", { class: "mark " + m.tone, "data-kind": m.kind });
    g.append(svg("line", { x1: sx(m.t), x2: sx(m.t), y1: top, y2: height - bottom, class: "mark-line" }));
    g.append(svg("circle", { cx: sx(m.t), cy: sy(m.y), r: 4.5, class: "mark-dot" }));
    g.append(svg("title", {}, clock(m.t) + " " + m.kind + ": " + m.reason));
    chart.append(g);
  }
  const legend = el("div", { class: "legend" }, ...series.map((s) => el("span", { class: "key " + s.name }, s.label || s.name)));
  return el("figure", {}, el("figcaption", {}, title), chart, legend);
}

function seriesOf(rows, value) {
  const by = {};
  for (const row of rows) (by[row.variant] ||= []).push([Date.parse(row.minute), value(row)]);
  return Object.entries(by).map(([name, points]) => ({ name, points: points.sort((a, b) => a[0] - b[0]) }));
}

const TONES = { abort: "bad", "admin:abort": "bad", step_up: "good", promote: "good", "admin:promote": "good", start_canary: "good", hold: "neutral" };

function weightChart(entries) {
  const ordered = [...entries].sort((a, b) => a.id - b.id);
  if (ordered.length === 0) return timeChart("Candidate weight over time", [], "%");
  const points = ordered.map((e) => [Date.parse(e.time), e.to.weight / 100]);
  points.push([Date.now(), points[points.length - 1][1]]);
  const marks = ordered.filter((e) => e.kind !== "admin:create" && e.kind !== "admin:replace").map((e) => ({
    t: Date.parse(e.time), y: e.to.weight / 100, kind: e.kind, reason: e.reason, tone: TONES[e.kind] || "neutral" }));
  return timeChart("Candidate weight over time, with each decision", [{ name: "candidate", label: "candidate weight", points }], "%", { step: true, yMax: 1, marks });
}

function disagreements(samples) {
  const pairs = samples.filter((s) => s.agreed === false).slice(0, 20);
  if (pairs.length === 0) return el("p", { id: "disagreements-empty" }, samples.length ? "No disagreement among the " + samples.length + " most recent comparisons." : "No shadow comparisons yet.");
  return el("table", { id: "disagreements" },
    el("caption", {}, pairs.length + " of the " + samples.length + " most recent comparisons disagree"),
    el("thead", {}, el("tr", {}, ...["time", "champion answered", "candidate answered", "latency"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, pairs.map((s) => el("tr", {},
      el("td", {}, s.time.replace("T", " ").slice(0, 19)),
      el("td", {}, el("pre", { class: "champion-output" }, s.championOutput)),
      el("td", {}, el("pre", { class: "candidate-output" }, s.candidateOutput)),
      el("td", { class: "num" }, ms(s.championLatencyMs) + " / " + ms(s.candidateLatencyMs))))));
}

function approvalBanner(detail, entries) {
  const s = detail.state;
  const last = entries.find((e) => e.kind !== "admin:create" && e.kind !== "admin:replace");
  const awaiting = last && last.kind === "hold" && /^awaiting approval/.test(last.reason) && s && s.approved === undefined;
  if (awaiting) return el("p", { id: "approval", class: "banner" }, last.reason.split(";")[0] + ". ",
    el("button", { type: "button", "data-action": "approve", class: "primary" }, "Approve"));
  if (s && isNum(s.approved)) return el("p", { id: "approval", class: "banner" }, "Approved to go to " + s.approved + " %: waiting for the guardrails (or the step window).");
  return null;
}

async function loadDetail() {
  const name = state.selected;
  if (!name || !state.known.has(name)) { $("#detail").hidden = true; return; }
  const [detail, metrics, history] = await Promise.all([
    api(deploymentPath(name)),
    api(deploymentPath(name, "/metrics")),
    api(deploymentPath(name, "/history?limit=100")),
  ]);
  const isShadow = detail.spec && detail.spec.strategy === "shadow";
  const samples = isShadow ? await ndjson(deploymentPath(name, "/shadow-samples?limit=200")) : [];
  const s = detail.state || { status: "pending", weight: 0, reason: "" };
  $("#detail-title").textContent = name;
  $("#detail-state").textContent = s.status + " at " + s.weight + " % — " + s.reason;
  $("#detail-state").setAttribute("data-status", s.status);
  $("#detail-summary").textContent = verdictLine(detail.analysis);
  $("#approval-slot").replaceChildren(...[approvalBanner(detail, history.entries)].filter(Boolean));
  $("#progress-slot").replaceChildren(...[stepProgress(detail.analysis)].filter(Boolean));
  $("#evidence-slot").replaceChildren(evidence(detail));
  const to = Math.floor(Date.now() / 60000) * 60000 + 60000;
  const from = metrics.rows.length ? Math.min(...metrics.rows.map((r) => Date.parse(r.minute))) : to - 3600000;
  $("#charts").replaceChildren(
    weightChart(history.entries),
    timeChart("Requests per minute", seriesOf(metrics.rows, (r) => r.requests), "req/min", { from, to }),
    timeChart("Error rate per minute", seriesOf(metrics.rows, (r) => (r.requests ? r.errors / r.requests : 0)), "%", { from, to }),
    timeChart("p95 latency per minute", seriesOf(metrics.rows, (r) => r.latency.p95), "ms", { from, to }),
  );
  $("#shadow-slot").replaceChildren(...(isShadow ? [el("h3", {}, "Shadow disagreements"), disagreements(samples)] : []));
  $("#history tbody").replaceChildren(...history.entries.slice(0, 15).map((e) =>
    el("tr", { "data-kind": e.kind }, el("td", {}, e.time.replace("T", " ").slice(0, 19)), el("td", {}, e.actor), el("td", {}, e.kind),
      el("td", {}, (e.from ? e.from.status + " " + e.from.weight + " %" : "—") + " → " + e.to.status + " " + e.to.weight + " %"),
      el("td", {}, e.reason),
      el("td", { class: "notified" }, (e.notifications || []).map((n) => n.event + " " + n.status + (n.attempts > 1 ? " (" + n.attempts + " tries)" : "")).join(", ")))));
  $("#detail").hidden = false;
}

async function act(action) {
  const name = state.selected;
  try {
    await api(deploymentPath(name, "/" + action), { method: "POST", body: JSON.stringify({ reason: "from the dashboard" }) });
    $("#action-error").textContent = "";
  } catch (error) {
    $("#action-error").textContent = error.message;
  }
  await refresh();
}

function select(name) {
  if (!NAME.test(name) || !state.known.has(name)) return;
  state.selected = name;
  history.replaceState(null, "", "#" + name);
  refresh();
}

async function refresh() {
  try {
    await loadList();
    if (state.selected && !state.known.has(state.selected)) state.selected = null;
    for (const row of document.querySelectorAll("#deployments tr[data-name]")) row.classList.toggle("selected", row.dataset.name === state.selected);
    await loadDetail();
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (error) {
    if (error.message !== "unauthorized") $("#updated").textContent = "refresh failed: " + error.message;
  }
}

function schedule() {
  clearInterval(state.timer);
  if (state.live) state.timer = setInterval(refresh, 5000);
}

async function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  // The fragment only selects a deployment the API lists; it never becomes part of a request.
  const wanted = (() => { try { return decodeURIComponent(location.hash.slice(1)); } catch { return ""; } })();
  state.selected = null;
  try { await loadList(); } catch { return; }
  if (NAME.test(wanted) && state.known.has(wanted)) state.selected = wanted;
  await refresh();
  schedule();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  try { await api("/deployments"); start(); } catch { /* showLogin already explained */ }
});
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-action]");
  if (button) act(button.dataset.action);
});
$("#live").addEventListener("change", (event) => { state.live = event.target.checked; schedule(); });
if (token()) start(); else showLogin("");
`;
