"""The page, its style sheet and its script, as Python strings (no build step, no download).

The HTML holds no user data at all: the script fetches JSON from the server's ``/api/*`` routes and
builds every element with ``document.createElement`` and ``textContent`` (never ``innerHTML``), so a
study or parameter name is always text. The server's Content-Security-Policy allows scripts and
styles from these two routes only, so even a string that slipped into markup could not run.
Charts are SVG drawn from the rows of `guardopt.viz`'s tables.
"""

from __future__ import annotations

INDEX_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>guardopt dashboard</title>
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>guardopt dashboard</h1>
  <nav><a href="#studies" id="nav-studies">Studies</a><a href="#reports" id="nav-reports">Reproductions</a></nav>
  <span id="status" class="muted">loading…</span>
</header>
<main>
  <section id="studies-view">
    <aside>
      <h2>Studies</h2>
      <p id="storage" class="muted"></p>
      <table id="study-list" class="list"><thead><tr><th>study</th><th>trials</th><th>feasible</th><th>best</th></tr>
      </thead><tbody></tbody></table>
      <p id="no-studies" class="muted" hidden>No studies in this storage yet.</p>
    </aside>
    <article id="study">
      <p id="pick" class="muted">Pick a study on the left.</p>
      <div id="study-body" hidden>
        <h2 id="study-name"></h2>
        <div id="cards" class="cards"></div>
        <div class="panel"><h3>Optimization history</h3><div id="history"></div>
          <p class="legend"><span class="dot ok"></span>feasible <span class="dot bad"></span>infeasible
          <span class="line"></span>best feasible so far</p></div>
        <div class="panel" id="constraints-panel"><h3>Constraint values against their limits</h3>
          <div id="constraints"></div></div>
        <div class="row">
          <div class="panel half"><h3>Pessimistic (certified) recommendation</h3><div id="recommendation"></div></div>
          <div class="panel half"><h3>Parameter importance</h3><div id="importance"></div></div>
        </div>
        <div class="panel"><h3>Trials</h3><p id="trials-note" class="muted"></p>
          <div class="scroll"><table id="trials" class="grid"><thead></thead><tbody></tbody></table></div></div>
      </div>
    </article>
  </section>
  <section id="reports-view" hidden>
    <h2>Reproduction verdicts</h2>
    <p id="reports-note" class="muted"></p>
    <table id="verdicts" class="grid"><thead></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
"""

REPORT_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/dashboard.css">
</head>
<body>
<header><h1>guardopt dashboard</h1><nav><a href="/#studies">Studies</a><a href="/#reports">Reproductions</a></nav>
</header>
<main class="report">
{body}
</main>
</body>
</html>
"""

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --best: #0969da; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; }
header { display: flex; align-items: center; gap: 24px; padding: 10px 20px; background: #24292f; color: #fff; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; }
header nav a { color: #d0d7de; margin-right: 16px; text-decoration: none; }
header nav a.active, header nav a:hover { color: #fff; text-decoration: underline; }
header #status { margin-left: auto; color: #afb8c1; }
main { padding: 16px 20px; }
#studies-view { display: flex; gap: 20px; align-items: flex-start; }
aside { width: 330px; flex: none; }
article { flex: 1; min-width: 0; }
h2 { font-size: 18px; margin: 0 0 8px; overflow-wrap: anywhere; }
h3 { font-size: 14px; margin: 0 0 8px; }
.muted { color: var(--muted); }
table { border-collapse: collapse; }
table.list { width: 100%; }
table.list td, table.list th { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: left; }
table.list td.name { overflow-wrap: anywhere; }
table.list tr.study { cursor: pointer; }
table.list tr.study:hover { background: var(--bg); }
table.list tr.selected { background: #ddf4ff; }
table.grid { font-size: 13px; }
table.grid th, table.grid td { border: 1px solid var(--line); padding: 3px 7px; text-align: right;
  white-space: nowrap; }
table.grid th { background: var(--bg); position: sticky; top: 0; }
table.grid td.text { text-align: left; white-space: normal; max-width: 460px; }
#verdicts th { text-align: left; }
td.yes { color: var(--ok); } td.no { color: var(--bad); }
.scroll { max-height: 420px; overflow: auto; border: 1px solid var(--line); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; background: var(--bg); min-width: 110px; }
.card .k { color: var(--muted); font-size: 12px; } .card .v { font-size: 16px; font-weight: 600; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 14px; }
.row { display: flex; gap: 14px; } .half { flex: 1; min-width: 0; }
.legend { margin: 4px 0 0; color: var(--muted); font-size: 12px; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin: 0 3px 0 10px; }
.dot.ok { background: var(--ok); } .dot.bad { border: 2px solid var(--bad); }
.line { display: inline-block; width: 18px; border-top: 2px solid var(--best); margin: 0 4px 3px 10px; }
svg { display: block; max-width: 100%; }
svg text { font-size: 11px; fill: #57606a; }
svg .axis { stroke: #8c959f; } svg .grid { stroke: #eaeef2; }
.kv { border-collapse: collapse; } .kv td { padding: 2px 10px 2px 0; vertical-align: top; }
.kv td:first-child { color: var(--muted); overflow-wrap: anywhere; }
.verdict-HOLDS { color: var(--ok); font-weight: 600; } .verdict-FAILS { color: var(--bad); font-weight: 600; }
.verdict-INCONCLUSIVE { color: #9a6700; font-weight: 600; }
main.report { max-width: 980px; } main.report img { max-width: 100%; }
main.report table { border-collapse: collapse; margin: 8px 0; }
main.report th, main.report td { border: 1px solid var(--line); padding: 3px 8px; }
"""

JS = r"""
"use strict";
const REFRESH_MS = 2000;
const SVGNS = "http://www.w3.org/2000/svg";
const state = { studyVersion: null, modelVersion: null, modelStale: false, selected: null, listKey: null };

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") {
    if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
    const a = Math.abs(v);
    const short = Number(v.toPrecision(4));
    return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? short.toExponential() : String(short);
  }
  return String(v);
}
function fmtValue(t) {  // a multi-objective trial: its objective values, e.g. "0.31, 12"
  if (Array.isArray(t.values)) return t.values.map(fmt).join(", ");
  return fmt(t.value);
}
async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}
function selectedFromHash() {
  const h = location.hash;
  if (h.startsWith("#study=")) return decodeURIComponent(h.slice(7));
  return null;
}

// ------------------------------------------------------------------------ charts
function scale(lo, hi, a, b, log) {
  if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
  if (!(hi > lo)) { const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1; lo -= d; hi += d; }
  const f = (v) => a + ((log ? Math.log10(v) : v) - lo) / (hi - lo) * (b - a);
  f.ticks = () => {
    const out = [];
    if (log) { for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) out.push(Math.pow(10, e)); return out; }
    const step0 = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0);
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12 * Math.abs(hi); t += step) out.push(t);
    return out;
  };
  return f;
}
function frame(width, height) {
  return { svg: sv("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" }),
           x0: 66, x1: width - 14, y0: height - 30, y1: 10 };
}
function axes(f, xs, ys, xlabel, ylabel) {
  for (const t of ys.ticks()) {
    const y = ys(t);
    f.svg.appendChild(sv("line", { x1: f.x0, x2: f.x1, y1: y, y2: y, class: "grid" }));
    f.svg.appendChild(sv("text", { x: f.x0 - 5, y: y + 4, "text-anchor": "end" }, fmt(t)));
  }
  for (const t of xs.ticks()) {
    const x = xs(t);
    f.svg.appendChild(sv("text", { x, y: f.y0 + 14, "text-anchor": "middle" }, fmt(t)));
  }
  f.svg.appendChild(sv("line", { x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0, class: "axis" }));
  f.svg.appendChild(sv("line", { x1: f.x0, x2: f.x0, y1: f.y0, y2: f.y1, class: "axis" }));
  f.svg.appendChild(sv("text", { x: (f.x0 + f.x1) / 2, y: f.y0 + 27, "text-anchor": "middle" }, xlabel));
  f.svg.appendChild(sv("text", { x: 12, y: (f.y0 + f.y1) / 2, "text-anchor": "middle",
                                 transform: `rotate(-90 12 ${(f.y0 + f.y1) / 2})` }, ylabel));
}
function useLog(values) {
  const v = values.filter((x) => typeof x === "number");
  if (!v.length || v.some((x) => x <= 0)) return false;
  return Math.max(...v) / Math.min(...v) > 1e3;
}
function dot(svg, x, y, ok, title) {
  const c = ok ? sv("circle", { cx: x, cy: y, r: 3.6, fill: "var(--ok)" })
               : sv("circle", { cx: x, cy: y, r: 3.4, fill: "none", stroke: "var(--bad)", "stroke-width": 1.6 });
  c.appendChild(sv("title", {}, title));
  svg.appendChild(c);
}
function drawHistory(node, rows, direction, reason) {
  clear(node);
  const pts = rows.filter((r) => typeof r.value === "number");
  if (!pts.length) {
    node.appendChild(el("p", { class: "muted" }, reason || "No completed trial with a finite value yet."));
    return;
  }
  const f = frame(Math.max(node.clientWidth || 760, 420), 260);
  const vals = pts.map((r) => r.value);
  const log = useLog(vals);
  const nums = pts.map((r) => r.number);
  const xs = scale(Math.min(...nums), Math.max(...nums), f.x0 + 6, f.x1 - 6, false);
  const ys = scale(Math.min(...vals), Math.max(...vals), f.y0 - 6, f.y1 + 6, log);
  axes(f, xs, ys, "trial", "objective (" + direction + ")" + (log ? ", log scale" : ""));
  let path = "";  // a step line: the best so far holds until a trial improves on it
  for (const r of rows) {
    if (typeof r.best_feasible !== "number" || (log && r.best_feasible <= 0)) continue;
    const x = xs(r.number).toFixed(1), y = ys(r.best_feasible).toFixed(1);
    path += path ? " H" + x + " V" + y : "M" + x + " " + y;
  }
  if (path) f.svg.appendChild(sv("path", { d: path, fill: "none", stroke: "var(--best)", "stroke-width": 2 }));
  for (const r of pts) dot(f.svg, xs(r.number), ys(r.value), r.feasible,
                           "trial " + r.number + ": " + fmt(r.value) + (r.feasible ? " (feasible)" : " (infeasible)"));
  node.appendChild(f.svg);
}
function drawConstraint(node, name, c) {
  const box = el("div", { class: "constraint" });
  box.appendChild(el("h4", {}, name + " " + c.op + " " + fmt(c.limit)));
  const pts = c.points.filter((p) => typeof p[1] === "number");
  const missing = c.points.length - pts.length;
  if (!pts.length) {
    box.appendChild(el("p", { class: "muted" }, "No measured value yet."));
    node.appendChild(box); return;
  }
  const f = frame(Math.max(node.clientWidth || 760, 420), 200);
  const vals = pts.map((p) => p[1]).concat([c.limit]);
  const xs = scale(Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0])), f.x0 + 6, f.x1 - 6, false);
  const ys = scale(Math.min(...vals), Math.max(...vals), f.y0 - 6, f.y1 + 6, false);
  axes(f, xs, ys, "trial", name);
  const yl = ys(c.limit);
  const top = c.op === "<=" ? f.y1 : yl, bottom = c.op === "<=" ? yl : f.y0;
  f.svg.appendChild(sv("rect", { x: f.x0 + 1, y: Math.min(top, bottom), width: f.x1 - f.x0 - 1,
                                 height: Math.abs(bottom - top), fill: "#cf222e", "fill-opacity": 0.06 }));
  f.svg.appendChild(sv("line", { x1: f.x0, x2: f.x1, y1: yl, y2: yl, stroke: "var(--bad)",
                                 "stroke-dasharray": "5 4" }));
  f.svg.appendChild(sv("text", { x: f.x1 - 4, y: yl - 4, "text-anchor": "end" }, "limit " + c.op + " " + fmt(c.limit)));
  for (const p of pts) dot(f.svg, xs(p[0]), ys(p[1]), p[2], "trial " + p[0] + ": " + fmt(p[1]));
  box.appendChild(f.svg);
  if (missing) {
    box.appendChild(el("p", { class: "muted" },
                       missing + " completed trial(s) without a finite value (counted as violations)."));
  }
  node.appendChild(box);
}
function drawImportance(node, imp) {
  clear(node);
  if (!imp) { node.appendChild(el("p", { class: "muted" }, "computing…")); return; }
  if (imp.reason) { node.appendChild(el("p", { class: "muted" }, imp.reason)); return; }
  const rows = imp.rows, w = Math.max(node.clientWidth || 380, 300), h = 22 * rows.length + 8;
  const s = sv("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  const label = Math.min(150, w * 0.4), bar = w - label - 60;
  rows.forEach(([name, share], i) => {
    const y = 4 + i * 22, v = typeof share === "number" ? share : 0;
    s.appendChild(sv("text", { x: label - 6, y: y + 13, "text-anchor": "end" }, name));
    s.appendChild(sv("rect", { x: label, y, width: Math.max(1, bar * v), height: 16, fill: "var(--best)" }));
    s.appendChild(sv("text", { x: label + bar * v + 5, y: y + 13 }, fmt(share)));
  });
  node.appendChild(s);
  node.appendChild(el("p", { class: "legend" }, imp.note));
}
function kvTable(entries) {
  const t = el("table", { class: "kv" });
  for (const [k, v] of entries) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, k));
    tr.appendChild(el("td", {}, fmt(v)));
    t.appendChild(tr);
  }
  return t;
}
function drawRecommendation(node, rec) {
  clear(node);
  if (!rec) { node.appendChild(el("p", { class: "muted" }, "computing…")); return; }
  if (rec.reason) node.appendChild(el("p", { class: "muted", id: "rec-reason" }, rec.reason));
  else {
    node.appendChild(el("p", { id: "rec-trial" }, "trial " + rec.number + ", value " + fmt(rec.value)));
    node.appendChild(kvTable(Object.entries(rec.params)));
    const cons = Object.entries(rec.constraints || {});
    if (cons.length) { node.appendChild(el("h4", {}, "measured constraints")); node.appendChild(kvTable(cons)); }
  }
  if (rec.note) node.appendChild(el("p", { class: "legend" }, "guard: " + rec.note));
}

// ------------------------------------------------------------------------ views
function card(k, v) {
  const c = el("div", { class: "card" });
  c.appendChild(el("div", { class: "k" }, k));
  c.appendChild(el("div", { class: "v" }, fmt(v)));
  return c;
}
function drawStudy(d) {
  document.getElementById("pick").hidden = true;
  document.getElementById("study-body").hidden = false;
  document.getElementById("study-name").textContent = d.name;
  const cards = document.getElementById("cards"); clear(cards);
  cards.appendChild(card("direction", d.direction));
  cards.appendChild(card("trials", d.counts.trials));
  cards.appendChild(card("complete", d.counts.complete));
  cards.appendChild(card("running", d.counts.running));
  cards.appendChild(card("failed", d.counts.failed));
  cards.appendChild(card("pruned", d.counts.pruned));
  cards.appendChild(card("feasible", d.counts.feasible));
  cards.appendChild(card("best feasible value", d.best ? d.best.value : null));
  drawHistory(document.getElementById("history"), d.history, d.direction, d.history_reason);
  const cp = document.getElementById("constraints"); clear(cp);
  document.getElementById("constraints-panel").hidden = !d.constraints.length;
  for (const c of d.constraints) drawConstraint(cp, c.name, d.constraint_values[c.name]);
  const head = document.querySelector("#trials thead"), body = document.querySelector("#trials tbody");
  clear(head); clear(body);
  const hr = el("tr");
  const cols = ["number", "state", "value", "feasible", ...d.params, ...d.constraints.map((c) => c.name),
                "duration (s)", "failure"];
  for (const h of cols) hr.appendChild(el("th", {}, h));
  head.appendChild(hr);
  for (const t of d.trials) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, t.number));
    tr.appendChild(el("td", {}, t.state));
    tr.appendChild(el("td", {}, fmtValue(t)));
    const done = t.state === "COMPLETE";  // feasibility is a property of a completed trial only
    tr.appendChild(el("td", { class: done ? (t.feasible ? "yes" : "no") : "" }, done ? fmt(t.feasible) : "—"));
    for (const p of d.params) {
      tr.appendChild(el("td", { class: typeof t.params[p] === "string" ? "text" : "" }, fmt(t.params[p])));
    }
    for (const c of d.constraints) tr.appendChild(el("td", {}, fmt(t.constraints[c.name])));
    tr.appendChild(el("td", {}, fmt(t.duration_s)));
    tr.appendChild(el("td", { class: "text" }, t.failure_reason || ""));
    body.appendChild(tr);
  }
  document.getElementById("trials-note").textContent = d.trials_shown < d.counts.trials
    ? "The last " + d.trials_shown + " of " + d.counts.trials + " trials, newest first." : "Newest first.";
}
function drawList(list) {
  const key = JSON.stringify([list.studies, state.selected]);
  if (key === state.listKey) return;  // unchanged: keep the rows (and a click on them) as they are
  state.listKey = key;
  const body = document.querySelector("#study-list tbody"); clear(body);
  document.getElementById("no-studies").hidden = list.studies.length > 0;
  for (const s of list.studies) {
    const tr = el("tr", { class: "study" + (s.name === state.selected ? " selected" : "") });
    tr.dataset.name = s.name;
    tr.appendChild(el("td", { class: "name" }, s.name));
    tr.appendChild(el("td", {}, s.trials + (s.running ? " (" + s.running + " running)" : "")));
    tr.appendChild(el("td", {}, s.feasible));
    tr.appendChild(el("td", {}, fmt(s.best_value)));
    tr.addEventListener("click", () => { location.hash = "#study=" + encodeURIComponent(s.name); });
    body.appendChild(tr);
  }
}
async function refreshModel(name) {
  const m = await getJSON("/api/model?name=" + encodeURIComponent(name));
  if (name !== state.selected) return;
  state.modelVersion = m.version; state.modelStale = !!m.stale;
  drawImportance(document.getElementById("importance"), m.importance);
  drawRecommendation(document.getElementById("recommendation"), m.recommendation);
}
async function refresh() {
  try {
    const info = await getJSON("/api/studies");
    drawList(info);
    const name = state.selected;
    if (name !== null) {
      let url = "/api/study?name=" + encodeURIComponent(name);
      if (state.studyVersion !== null) url += "&known=" + encodeURIComponent(state.studyVersion);
      const d = await getJSON(url);
      if (name === state.selected && !d.unchanged && d.version !== state.studyVersion) {
        state.studyVersion = d.version;
        drawStudy(d);
      }
      if (name === state.selected && (state.modelVersion !== d.version || state.modelStale)) await refreshModel(name);
    }
    document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("status").textContent = "refresh failed: " + e.message;
  }
}
async function loadReports() {
  const r = await getJSON("/api/reports");
  document.getElementById("reports-note").textContent = r.source
    ? (r.note ? r.note + " " : "") + "(" + r.source + ")" : "No reports folder (pass --reports DIR).";
  const head = document.querySelector("#verdicts thead"), body = document.querySelector("#verdicts tbody");
  clear(head); clear(body);
  const hr = el("tr"); for (const c of r.columns) hr.appendChild(el("th", {}, c)); head.appendChild(hr);
  for (const row of r.rows) {
    const tr = el("tr");
    row.forEach((cell, i) => {
      const td = el("td", { class: "text" });
      if (cell.report) td.appendChild(el("a", { href: "/reports/" + encodeURIComponent(cell.report) }, cell.text));
      else td.textContent = cell.text;
      if (r.columns[i] === "verdict") td.classList.add("verdict-" + cell.text.replace(/[^A-Z]/g, ""));
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
}
function route() {
  const reports = location.hash === "#reports";
  document.getElementById("studies-view").hidden = reports;
  document.getElementById("reports-view").hidden = !reports;
  document.getElementById("nav-reports").classList.toggle("active", reports);
  document.getElementById("nav-studies").classList.toggle("active", !reports);
  if (reports) {
    loadReports().catch((e) => { document.getElementById("reports-note").textContent = e.message; });
    return;
  }
  const name = selectedFromHash();
  if (name !== state.selected) {
    state.selected = name; state.studyVersion = null; state.modelVersion = null;
    drawImportance(document.getElementById("importance"), null);
    drawRecommendation(document.getElementById("recommendation"), null);
  }
  refresh();
}
async function start() {
  const info = await getJSON("/api/info");
  document.getElementById("storage").textContent = "storage: " + info.storage;
  window.addEventListener("hashchange", route);
  route();
  setInterval(() => { if (location.hash !== "#reports") refresh(); }, info.refresh_ms || REFRESH_MS);
}
document.addEventListener("DOMContentLoaded", () => {
  start().catch((e) => { document.getElementById("status").textContent = e.message; });
});
"""
