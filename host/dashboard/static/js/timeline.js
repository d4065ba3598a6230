// Timeline: a day or a week of episodes by side, type and severity, with activity and
// signal-quality bands and link gaps; drag to zoom (down to seconds); click an episode
// for its raw and filtered signal.

import { api, el, emptyState, showError, fmtTime, fmtDate, fmtDuration, startOfDayUs, DAY_US, KIND_COLORS } from "./app.js";
import { makeChart, destroyChart, hasUplot } from "./charts.js";

const NS = "http://www.w3.org/2000/svg";
const ACTIVITY = { still: "#cfe3d3", moving: "#8cc49a", active: "#3d8b52", "no data": "#f1d5d5", none: "#f3f4f6" };
const QUALITY = { ok: "#cfe3d3", flat: "#e8a33d", saturated: "#c62828", "no data": "#f1d5d5", none: "#f3f4f6" };
const MIN_SPAN_US = 4e6;

let T = null;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export async function mount(main, params) {
  T = { charts: [], detailCharts: [], main };
  main.append(el("h1", { text: "Timeline" }));
  let extent;
  try {
    extent = await api("/api/extent");
  } catch (err) {
    showError(main, err, "the timeline");
    return;
  }
  if (extent.start_us === null) {
    emptyState(main, "Nothing recorded yet", "Record a session (spasmwatch run or spasmwatch demo); its episodes will show here.");
    return;
  }
  T.extent = extent;
  T.view = params.get("view") === "week" ? "week" : "day";
  const focus = Number(params.get("t")) || extent.end_us - 1;
  setView(T.view, focus);
  if (!params.get("view") && extent.end_us - extent.start_us < 6 * 3600e6) {
    // A short recording: show it whole rather than a mostly empty day.
    const pad = Math.max(5e6, (extent.end_us - extent.start_us) * 0.02);
    T.start = extent.start_us - pad;
    T.end = extent.end_us + pad;
    if (params.get("t")) {
      const t = Number(params.get("t"));
      T.start = t - 60e6;
      T.end = t + 60e6;
    }
  }
  const controls = el("div", { class: "row no-print", role: "toolbar", "aria-label": "Time range" },
    el("div", { class: "seg", role: "group", "aria-label": "View" },
      T.dayBtn = el("button", { type: "button", onclick: () => { setView("day", center()); load(); } }, "Day"),
      T.weekBtn = el("button", { type: "button", onclick: () => { setView("week", center()); load(); } }, "Week")),
    el("button", { type: "button", "aria-label": "Earlier", onclick: () => shift(-1) }, "◀"),
    el("button", { type: "button", "aria-label": "Later", onclick: () => shift(1) }, "▶"),
    el("button", { type: "button", onclick: () => { setView(T.view, T.extent.end_us - 1); load(); } }, "Latest"),
    el("button", { type: "button", onclick: fitData }, "Fit recording"),
    T.zoomOut = el("button", { type: "button", onclick: zoomOut }, "Zoom out"),
    T.rangeLabel = el("span", { class: "muted", "aria-live": "polite" }),
  );
  T.lanesBox = el("div", { class: "panel" });
  T.legend = el("div", { class: "legend" },
    ...Object.entries({ tonic: 0, clonic: 0, myoclonic: 0, cramp: 0, voluntary: 0 }).map(([k]) => el("span", { style: `--c:${KIND_COLORS[k]}` }, k)),
    el("span", { style: "--c:repeating-linear-gradient(45deg,#c62828 0 2px,#fff 2px 5px)" }, "link gap"),
    el("span", { style: "--c:#3d8b52" }, "active"), el("span", { style: "--c:#cfe3d3" }, "still / good signal"),
    el("span", { style: "--c:#e8a33d" }, "flat channel"), el("span", { style: "--c:#c62828" }, "saturated channel"));
  T.signalBox = el("div", { class: "grid" });
  T.detail = el("div", { class: "grid" });
  main.append(controls, el("div", { class: "grid" }, el("div", { class: "grid", style: "gap:8px" }, T.lanesBox, T.legend), T.detail, T.signalBox));
  await load();
}

export function unmount() {
  if (!T) return;
  for (const c of [...T.charts, ...T.detailCharts]) destroyChart(c);
  T = null;
}

function center() { return (T.start + T.end) / 2; }

function setView(view, focusUs) {
  T.view = view;
  T.zoomStack = [];
  const day = startOfDayUs(focusUs);
  if (view === "day") {
    T.start = day;
    T.end = day + DAY_US;
  } else {
    T.end = day + DAY_US;
    T.start = T.end - 7 * DAY_US;
  }
}

function shift(direction) {
  const span = T.end - T.start;
  T.start += direction * span;
  T.end += direction * span;
  load();
}

function fitData() {
  T.zoomStack.push([T.start, T.end]);
  const pad = Math.max(5e6, (T.extent.end_us - T.extent.start_us) * 0.02);
  T.start = T.extent.start_us - pad;
  T.end = T.extent.end_us + pad;
  load();
}

function zoomTo(a, b) {
  if (b - a < MIN_SPAN_US) {
    const c = (a + b) / 2;
    a = c - MIN_SPAN_US / 2;
    b = c + MIN_SPAN_US / 2;
  }
  T.zoomStack.push([T.start, T.end]);
  T.start = Math.round(a);
  T.end = Math.round(b);
  load();
}

function zoomOut() {
  const prev = T.zoomStack.pop();
  if (prev) [T.start, T.end] = prev;
  else {
    const c = center(), span = (T.end - T.start) * 2;
    T.start = c - span / 2;
    T.end = c + span / 2;
  }
  load();
}

function describeRange() {
  const span = T.end - T.start;
  if (span >= DAY_US - 1 && span <= DAY_US + 1 && T.start === startOfDayUs(T.start)) return `${fmtDate(T.start)} (day)`;
  if (span === 7 * DAY_US) return `${fmtDate(T.start)} – ${fmtDate(T.end - 1)} (week)`;
  return `${fmtTime(T.start, { date: true })} – ${fmtTime(T.end, { date: span > DAY_US })} (${fmtDuration(span / 1e6)})`;
}

async function load() {
  if (!T) return;
  T.dayBtn.setAttribute("aria-pressed", String(T.view === "day"));
  T.weekBtn.setAttribute("aria-pressed", String(T.view === "week"));
  T.rangeLabel.textContent = describeRange();
  const bins = Math.min(300, Math.max(48, Math.floor((T.lanesBox.clientWidth || 1000) / 6)));
  let data;
  try {
    data = await api("/api/timeline", { start: Math.round(T.start), end: Math.round(T.end), bins });
  } catch (err) {
    showError(T.lanesBox, err, "the timeline");
    return;
  }
  if (!T) return;
  T.data = data;
  drawLanes(data);
  loadSignal();
}

function drawLanes(data) {
  const width = Math.max(400, T.lanesBox.clientWidth - 32);
  const left = 96, right = 12, top = 26;
  const lane = 34, band = 14, gap = 8;
  const rows = [
    ["Left", top], ["Right", top + lane], ["Activity", top + 2 * lane + gap], ["Signal", top + 2 * lane + gap + band + 6],
    ["Link", top + 2 * lane + gap + 2 * (band + 6)],
  ];
  const height = rows[4][1] + band + 8;
  const plotW = width - left - right;
  const x = (us) => left + ((us - data.start_us) / (data.end_us - data.start_us)) * plotW;
  const root = svg("svg", { class: "lanes", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Timeline of ${describeRange()}: ${data.episodes.length} episodes` });
  // Ticks.
  const span = data.end_us - data.start_us;
  const steps = [1e6, 5e6, 10e6, 30e6, 60e6, 300e6, 600e6, 1800e6, 3600e6, 3 * 3600e6, 6 * 3600e6, DAY_US];
  const step = steps.find((s) => span / s <= 12) || DAY_US;
  const offset = new Date().getTimezoneOffset() * 60e6;
  for (let t = Math.ceil((data.start_us - offset) / step) * step + offset; t <= data.end_us; t += step) {
    const px = x(t);
    root.append(svg("line", { x1: px, x2: px, y1: top - 4, y2: height - 4, stroke: "#eceff3" }));
    const label = svg("text", { x: px + 3, y: 12 });
    label.textContent = step >= DAY_US ? fmtDate(t) : fmtTime(t, { seconds: step < 60e6 });
    root.append(label);
  }
  for (const [name, y] of rows) {
    const t = svg("text", { x: 4, y: y + (name === "Left" || name === "Right" ? lane / 2 + 4 : band - 3) });
    t.textContent = name;
    root.append(t);
  }
  const [, yLink] = rows[4];
  // Not recording: light grey; sessions white.
  root.append(svg("rect", { x: left, y: top, width: plotW, height: height - top - 4, fill: "#f7f8fa" }));
  for (const s of data.sessions) {
    const a = Math.max(left, x(s.started_us)), b = Math.min(left + plotW, x(s.end_us ?? data.end_us));
    if (b > a) root.append(svg("rect", { x: a, y: top, width: b - a, height: 2 * lane, fill: "#fff" }));
    if (b > a) root.append(svg("rect", { x: a, y: yLink, width: b - a, height: band, fill: "#cfe3d3" }));
  }
  // Bands.
  if (data.bands) {
    const n = data.bands.n_bins, w = plotW / n;
    data.bands.activity.forEach((v, i) => root.append(svg("rect", { x: left + i * w, y: rows[2][1], width: w + 0.5, height: band, fill: ACTIVITY[v] || "#eee" })));
    data.bands.quality.forEach((v, i) => {
      const r = svg("rect", { x: left + i * w, y: rows[3][1], width: w + 0.5, height: band, fill: QUALITY[v.state] || "#eee" });
      if (v.channels.length) {
        const tip = svg("title");
        tip.textContent = `${v.state}: ${v.channels.join(", ")}`;
        r.append(tip);
      }
      root.append(r);
    });
  }
  // Link gaps: hatched on every lane.
  const defs = svg("defs");
  const pattern = svg("pattern", { id: "hatch", width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  pattern.append(svg("rect", { width: 2, height: 5, fill: "#c62828" }));
  defs.append(pattern);
  root.append(defs);
  for (const g of data.gaps) {
    const a = x(g.start_us), b = Math.max(x(g.end_us), a + 2);
    const r = svg("rect", { x: a, y: top, width: b - a, height: height - top - 4, fill: "url(#hatch)", opacity: 0.55 });
    const tip = svg("title");
    tip.textContent = `link gap: ${fmtTime(g.start_us)}–${fmtTime(g.end_us)} (${(g.n_samples / 1000).toFixed(1)} s of samples missing)`;
    r.append(tip);
    root.append(r);
  }
  // Episodes.
  const opacity = { mild: 0.55, moderate: 0.8, severe: 1 };
  for (const e of data.episodes) {
    const a = x(e.start_us), b = Math.max(x(e.end_us), a + 3);
    const color = e.reviewed_involuntary ? (KIND_COLORS[e.kind] || "#c62828") : KIND_COLORS.voluntary;
    const y0 = e.side === "right" ? top + lane : top;
    const h = e.side === "bilateral" ? 2 * lane - 6 : lane - 6;
    const r = svg("rect", {
      x: a, y: y0 + 3, width: b - a, height: h, rx: 3, fill: color, opacity: opacity[e.severity] || 0.8,
      class: "episode-mark", tabindex: 0, role: "button", "data-episode": e.id,
      "aria-label": `${e.reviewed_involuntary ? "Spasm" : "Voluntary"} ${e.kind}, ${e.side}, ${e.duration_s.toFixed(1)} s at ${fmtTime(e.start_us)}`,
    });
    if (!e.reviewed_involuntary) r.setAttribute("stroke", "#fff");
    const tip = svg("title");
    tip.textContent = `${e.reviewed_involuntary ? "spasm" : "voluntary"} · ${e.kind} · ${e.side} · ${e.severity} · ${e.duration_s.toFixed(1)} s · ${fmtTime(e.start_us)}`;
    r.append(tip);
    r.addEventListener("click", (ev) => { ev.stopPropagation(); showEpisode(e); });
    r.addEventListener("mousedown", (ev) => ev.stopPropagation());
    r.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); showEpisode(e); } });
    root.append(r);
  }
  // Drag to zoom.
  const sel = svg("rect", { y: top, height: height - top - 4, fill: "rgba(31,95,191,0.15)", stroke: "#1f5fbf", width: 0, x: 0, visibility: "hidden" });
  root.append(sel);
  let x0 = null;
  const px = (ev) => ev.clientX - root.getBoundingClientRect().left;
  root.addEventListener("mousedown", (ev) => { x0 = px(ev); sel.setAttribute("visibility", "visible"); sel.setAttribute("x", x0); sel.setAttribute("width", 0); });
  root.addEventListener("mousemove", (ev) => {
    if (x0 === null) return;
    const x1 = px(ev);
    sel.setAttribute("x", Math.min(x0, x1));
    sel.setAttribute("width", Math.abs(x1 - x0));
  });
  root.addEventListener("mouseup", (ev) => {
    if (x0 === null) return;
    const x1 = px(ev);
    sel.setAttribute("visibility", "hidden");
    const [a, b] = [Math.min(x0, x1), Math.max(x0, x1)];
    x0 = null;
    if (b - a < 4) return;
    const us = (p) => data.start_us + ((p - left) / plotW) * (data.end_us - data.start_us);
    zoomTo(us(Math.max(left, a)), us(Math.min(left + plotW, b)));
  });
  root.addEventListener("dblclick", zoomOut);
  const summary = el("p", { class: "small muted" },
    `${data.episodes.filter((e) => e.reviewed_involuntary).length} spasms, ${data.episodes.filter((e) => !e.reviewed_involuntary).length} voluntary contractions, ${data.gaps.length} link gaps · drag across the chart to zoom, double-click to zoom out`);
  T.lanesBox.replaceChildren(root, summary);
  if (!data.sessions.length) T.lanesBox.append(el("p", { class: "empty", role: "status" }, "Nothing was recorded in this range. Use ◀ ▶ or Latest."));
}

async function loadSignal() {
  for (const c of T.charts) destroyChart(c);
  T.charts = [];
  T.signalBox.replaceChildren();
  if (!T.data || !T.data.sessions.length || !hasUplot()) return;
  if (T.end - T.start > 26 * 3600e6) return;
  const box = el("section", { class: "panel", "aria-label": "Signal of the range" }, el("h2", { text: "Signal" }),
    el("p", { class: "small muted", text: "Loading…" }));
  T.signalBox.append(box);
  let sig;
  const t0 = performance.now();
  try {
    sig = await api("/api/signal", { start: Math.round(T.start), end: Math.round(T.end), points: 1200 });
  } catch (err) {
    box.replaceChildren(el("h2", { text: "Signal" }), el("p", { class: "muted", text: err.message }));
    return;
  }
  if (!T) return;
  const ms = performance.now() - t0;
  box.replaceChildren(el("h2", { text: "Signal" }), el("p", { class: "small muted", text: `${sig.filtered ? "Filtered (20–450 Hz) EMG min/max" : "Raw EMG min/max"} per ${fmtDuration(sig.bin_us / 1e6)} · loaded in ${ms.toFixed(0)} ms` }));
  T.charts.push(...signalCharts(box, sig, { filteredOnly: true }));
}

function signalCharts(box, sig, { filteredOnly = false, markers = null } = {}) {
  const charts = [];
  const x = sig.t_us.map((t) => t / 1e6);
  const colors = ["#1f6fd1", "#c9610a"];
  sig.channels.forEach((name, c) => {
    const holder = el("div");
    box.append(el("div", { class: "chart-title" }, el("span", { class: "name", text: name })), holder);
    const series = [];
    const data = [x];
    const src = sig.filtered || sig.raw;
    if (!filteredOnly || !sig.filtered) {
      series.push({ stroke: "rgba(90,100,120,0.5)", width: 1, label: "raw min" }, { stroke: "rgba(90,100,120,0.5)", width: 1, label: "raw max" });
      data.push(sig.raw.min[c], sig.raw.max[c]);
    }
    if (sig.filtered) {
      series.push({ stroke: colors[c % 2], width: 1, label: "filtered min" }, { stroke: colors[c % 2], width: 1, label: "filtered max" });
      data.push(src.min[c], src.max[c]);
    }
    if (sig.envelope) {
      series.push({ stroke: "#16202e", width: 1.5, label: "envelope" });
      data.push(sig.envelope[c]);
    }
    if (!data.slice(1).some((arr) => arr.some((v) => v !== null && Number.isFinite(v)))) {
      holder.append(el("p", { class: "muted small", text: "No samples in this range (a link gap)." }));
      return;
    }
    const bands = [];
    for (let k = 0; k + 1 < series.length; k += 2) {
      if (series[k].label.endsWith("min")) bands.push({ series: [k + 2, k + 1], fill: series[k].stroke.replace(/[\d.]+\)$/, "0.25)") });
    }
    const chart = makeChart(holder, {
      height: 150, series, xTime: true, yLabel: "µV",
      hooks: markers ? { drawClear: [(u) => markers(u)] } : {},
      data,
      bands,
    });
    charts.push(chart);
  });
  return charts;
}

async function showEpisode(e) {
  for (const c of T.detailCharts) destroyChart(c);
  T.detailCharts = [];
  const pad = Math.max(3e6, (e.end_us - e.start_us) * 0.5);
  const box = el("section", { class: "panel", id: "episode-detail", "aria-label": "Episode signal" });
  T.detail.replaceChildren(box);
  box.append(
    el("div", { class: "row" },
      el("h2", { text: `${e.reviewed_involuntary ? "Spasm" : "Voluntary contraction"} at ${fmtTime(e.start_us, { date: true })}` }),
      el("span", { class: "spacer" }),
      el("a", { class: "button", href: `#episodes?id=${e.id}` }, "Review this episode"),
      el("button", { type: "button", onclick: () => { T.detail.replaceChildren(); } }, "Close")),
    el("p", { class: "small" },
      el("span", { class: `pill ${e.side}` }, e.side), " ", el("span", { class: "pill" }, e.kind), " ",
      el("span", { class: "pill" }, e.severity), ` ${e.duration_s.toFixed(1)} s · confidence ${e.confidence ? (100 * e.confidence).toFixed(0) + " %" : "–"} · peak ${e.peak ? e.peak.toFixed(0) : "–"} ${e.unit} · before: ${e.activity_before || "–"}, ${e.posture_before || "–"}`),
  );
  if (!hasUplot()) return;
  let sig;
  try {
    sig = await api("/api/signal", { start: Math.round(e.start_us - pad), end: Math.round(e.end_us + pad), points: 1500 });
  } catch (err) {
    box.append(el("p", { class: "muted", text: err.message }));
    return;
  }
  if (!T) return;
  const shade = (u) => {
    const a = u.valToPos(e.start_us / 1e6, "x", true), b = u.valToPos(e.end_us / 1e6, "x", true);
    u.ctx.save();
    u.ctx.fillStyle = "rgba(198,40,40,0.08)";
    u.ctx.fillRect(a, u.bbox.top, b - a, u.bbox.height);
    u.ctx.restore();
  };
  box.append(el("p", { class: "small muted", text: "Grey: raw EMG (min/max); colour: filtered 20–450 Hz; black: envelope. The shaded part is the episode." }));
  T.detailCharts.push(...signalCharts(box, sig, { markers: shade }));
  box.scrollIntoView({ behavior: "smooth", block: "nearest" });
}
