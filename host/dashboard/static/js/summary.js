// The clinician's summary: spasms per day, durations, severity, sides, time of day,
// activity before onset, trend over weeks. Printable (css/print.css).

import { api, el, emptyState, showError, fmtDate, fmtDuration, DAY_US, startOfDayUs } from "./app.js";

const NS = "http://www.w3.org/2000/svg";
let M = null;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export async function mount(main) {
  M = { main };
  let ext;
  try {
    ext = await api("/api/extent");
  } catch (err) {
    showError(main, err, "the summary");
    return;
  }
  if (ext.start_us === null) {
    emptyState(main, "Nothing recorded yet", "The summary appears once sessions have been recorded.");
    return;
  }
  M.ext = ext;
  const days = el("select", { id: "sum-days" },
    ...[["7", "Last 7 days"], ["14", "Last 14 days"], ["30", "Last 30 days"], ["90", "Last 90 days"]].map(([v, t]) => el("option", { value: v, selected: v === "14" }, t)));
  days.addEventListener("change", load);
  M.days = days;
  M.body = el("div", { class: "grid" });
  main.append(
    el("div", { class: "row" }, el("h1", { text: "Summary for the clinician", style: "margin:0" }), el("span", { class: "spacer" }),
      el("label", { for: "sum-days", class: "no-print" }, "Period "), days,
      el("button", { type: "button", class: "primary", onclick: () => window.print() }, "Print / save as PDF")),
    M.body);
  await load();
}

export function unmount() { M = null; }

async function load() {
  if (!M) return;
  const end = startOfDayUs(M.ext.end_us) + DAY_US;
  const start = end - Number(M.days.value) * DAY_US;
  let s;
  try {
    s = await api("/api/summary", { start, end, tz_offset_min: -new Date().getTimezoneOffset() });
  } catch (err) {
    showError(M.body, err, "the summary");
    return;
  }
  if (!M) return;
  const stat = (label, value) => el("div", { class: "panel stat" }, el("span", { class: "value", text: value }), el("span", { class: "label", text: label }));
  const left = s.side.left || 0, right = s.side.right || 0, both = s.side.bilateral || 0;
  M.body.replaceChildren(
    el("p", { class: "muted" }, `${fmtDate(start)} to ${fmtDate(end - 1)} · ${s.recorded_h.toFixed(1)} h recorded in ${s.n_sessions} session${s.n_sessions === 1 ? "" : "s"} · ${s.calibrated ? "amplitudes calibrated (%MVC)" : "not calibrated: severity from duration"} · printed ${new Date().toLocaleString()}`),
    el("div", { class: "grid stats" },
      stat("Spasms", String(s.n_spasms)),
      stat("Per day (mean)", s.mean_per_day.toFixed(1)),
      stat("Total duration", fmtDuration(s.total_s)),
      stat("Median duration", s.median_s === null ? "–" : `${s.median_s.toFixed(1)} s`),
      stat("Longest", s.longest_s === null ? "–" : fmtDuration(s.longest_s)),
      stat("Left / right / both", `${left} / ${right} / ${both}`),
      stat("Reviewed by the wearer", `${(s.labels.confirmed || 0) + (s.labels.rejected || 0) + (s.labels.relabelled || 0)} of ${s.n_episodes}`),
      stat("Rejected as not spasms", String(s.labels.rejected || 0)),
      stat("Twitches (not counted)", String(s.n_twitches || 0)),
      stat("Recorded", `${s.recorded_h.toFixed(1)} h`)),
    el("div", { class: "grid cols-2" },
      panel("Spasms per day", bars(s.per_day.map((d) => [d.day.slice(5), d.count]), { color: "#c62828" })),
      panel("Time of day (onset)", bars(s.hour_of_day.map((n, h) => [String(h).padStart(2, "0"), n]), { color: "#1f5fbf", every: 3 }))),
    el("div", { class: "grid cols-3" },
      panel("Severity", table(["severity", "spasms"], ["mild", "moderate", "severe"].map((k) => [k, s.severity[k] || 0]))),
      panel("Type", table(["type", "spasms"], Object.entries(s.kind))),
      panel("Activity before onset", table(["activity", "spasms"], Object.entries(s.activity_before))),
      panel("Trend by week", table(["week", "spasms", "median duration"], s.per_week.map((w) => [w.week, w.count, `${w.median_s.toFixed(1)} s`]))),
      panel("Triggers (wearer's labels)", table(["trigger", "spasms"], Object.entries(s.triggers))),
      panel("Side", table(["side", "spasms"], [["left", left], ["right", right], ["bilateral", both]]))),
    el("p", { class: "small muted", text: "Severity: with a calibration, by peak amplitude (mild < 20 %MVC, moderate 20–50 %, severe > 50 %); without one, by duration (mild < 10 s, moderate 10–60 s, severe ≥ 1 min). Episodes the wearer labelled count as they labelled them." }),
  );
}

function panel(title, body) {
  return el("section", { class: "panel" }, el("h2", { text: title }), body);
}

function table(head, rows) {
  if (!rows.length) return el("p", { class: "muted small", text: "None in this period." });
  return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((v, i) => el("td", { class: i ? "num" : "", text: String(v) }))))));
}

function bars(values, { color, every = 1 }) {
  const width = 560, height = 170, left = 28, bottom = 20, top = 8;
  const max = Math.max(1, ...values.map((v) => v[1]));
  const w = (width - left) / Math.max(values.length, 1);
  const root = svg("svg", { class: "bars", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": values.map(([k, v]) => `${k}: ${v}`).join(", ") });
  for (let k = 0; k <= 4; k++) {
    const y = top + (height - top - bottom) * (1 - k / 4);
    root.append(svg("line", { x1: left, x2: width, y1: y, y2: y, stroke: "#eceff3" }));
    const t = svg("text", { x: 0, y: y + 4 });
    t.textContent = String(Math.round((max * k) / 4 * 10) / 10);
    root.append(t);
  }
  values.forEach(([label, v], i) => {
    const h = ((height - top - bottom) * v) / max;
    const r = svg("rect", { x: left + i * w + w * 0.15, y: height - bottom - h, width: w * 0.7, height: h, fill: color, rx: 2 });
    const tip = svg("title");
    tip.textContent = `${label}: ${v}`;
    r.append(tip);
    root.append(r);
    if (i % every === 0) {
      const t = svg("text", { x: left + i * w + w / 2, y: height - 5, "text-anchor": "middle" });
      t.textContent = label;
      root.append(t);
    }
  });
  return root;
}
