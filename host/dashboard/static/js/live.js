// Live view: scrolling EMG (filtered) with envelopes and thresholds, accelerometer,
// the detector's state and a banner while an involuntary episode is in progress.

import { api, el, emptyState } from "./app.js";
import { decodeFrame, KIND_EMG, Ring } from "./wire.js";
import { makeChart, destroyChart, drawHLines, hasUplot } from "./charts.js";

const WINDOW_S = 8;
const MAX_LAG_S = 0.12; // how far the view may run ahead of the newest sample
const COLORS = ["#1f6fd1", "#c9610a", "#2e7d32", "#6a3fb5"];
const SOFT = ["rgba(31,111,209,0.30)", "rgba(201,97,10,0.30)", "rgba(46,125,50,0.3)", "rgba(106,63,181,0.3)"];

let S = null; // the page's state while mounted

function stats() {
  // Read by the browser tests and shown under the charts.
  window.__swLive = window.__swLive || { draws: 0, fps: 0, latencies: [], batches: 0, events: 0, banner: false };
  return window.__swLive;
}

export async function mount(main) {
  const state = await api("/api/live");
  if (!state.live) {
    emptyState(main, "No recording is running",
      "This dashboard reviews the stored recordings. Start a recording with `spasmwatch run --dashboard` (or `spasmwatch demo`) to watch it live; meanwhile see the Timeline and Episodes.");
    return;
  }
  if (!hasUplot()) {
    emptyState(main, "Charts unavailable", "The vendored uPlot script did not load.", { error: true });
    return;
  }
  S = {
    ws: null, alive: true, raf: 0, emg: null, env: null, acc: null, names: [], sfreq: null,
    accSfreq: null, nextEmg: null, nextAcc: null, thresholds: null, lastArrival: 0,
    lastReceived: null, fresh: false, offset: null, bestRtt: Infinity, charts: [], yMax: [],
    status: null, statusAt: 0, motion: null, flash: null, fpsCount: 0, fpsSince: performance.now(),
  };
  const banner = el("div", { class: "banner", id: "banner", role: "alert", "aria-live": "assertive" },
    el("span", { class: "icon", "aria-hidden": "true" }), el("span", { class: "text" }));
  const chartsCol = el("div", { class: "grid" });
  const side = el("aside", { class: "grid", "aria-label": "Detector and posture" });
  main.append(
    el("h1", { text: "Live" }),
    banner,
    el("div", { class: "live-layout" }, chartsCol, side),
  );
  S.banner = banner;
  S.chartsCol = chartsCol;
  S.side = side;
  buildSide(side);
  connect();
  S.raf = requestAnimationFrame(frame);
}

export function unmount() {
  if (!S) return;
  S.alive = false;
  cancelAnimationFrame(S.raf);
  clearInterval(S.pinger);
  if (S.ws) S.ws.close();
  for (const c of S.charts) destroyChart(c);
  S = null;
}

// ---------------------------------------------------------------- socket

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/live`;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  S.ws = ws;
  ws.onopen = () => {
    ping();
    clearInterval(S.pinger);
    S.pinger = setInterval(ping, 2000);
  };
  ws.onmessage = (ev) => {
    if (!S) return;
    if (typeof ev.data === "string") onEvent(JSON.parse(ev.data));
    else onFrame(decodeFrame(ev.data));
  };
  ws.onclose = () => {
    if (S && S.alive) setTimeout(() => S && S.alive && connect(), 1500);
  };
}

function ping() {
  if (S && S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.ws.send(JSON.stringify({ type: "ping", t: performance.now() }));
  }
}

function onEvent(msg) {
  stats().events++;
  if (msg.type === "pong") {
    const now = performance.now();
    const rtt = now - msg.t;
    if (rtt <= S.bestRtt * 1.5 || S.offset === null) {
      S.bestRtt = Math.min(S.bestRtt, rtt);
      S.offset = msg.server_s - (msg.t + now) / 2000; // server_s - local seconds
    }
  } else if (msg.type === "status") {
    S.status = msg;
    S.statusAt = performance.now();
    updateSide();
  } else if (msg.type === "motion") {
    S.motion = msg;
    updateSide();
  } else if (msg.type === "episode") {
    if (msg.involuntary) {
      S.flash = { until: performance.now() + 6000, text: `Spasm recorded: ${msg.kind}, ${msg.side}, ${msg.duration_s.toFixed(1)} s` };
    }
    S.lastEpisode = msg;
    updateSide();
  } else if (msg.type === "gap" && msg.stream === "emg" && S.emg) {
    S.nextEmg = null;
  } else if (msg.type === "idle") {
    emptyState(document.getElementById("main"), "No recording is running", msg.detail);
  }
}

function onFrame(f) {
  const st = stats();
  st.batches++;
  if (f.kind === KIND_EMG) {
    if (!S.emg || S.emg.nCh !== f.nCh || S.sfreq !== f.sfreq) setupEmg(f);
    const t0 = f.firstSample / f.sfreq;
    if (S.nextEmg !== null && f.firstSample !== S.nextEmg) {
      S.emg.gap(t0 - 0.5 / f.sfreq);
      S.env.gap(t0 - 0.5 / f.sfreq);
    }
    S.emg.push(t0, 1 / f.sfreq, f.signal, f.nTimes);
    S.env.push(t0, 1 / f.sfreq, f.envelope, f.nTimes);
    S.nextEmg = f.firstSample + f.nTimes;
    S.thresholds = { on: f.onUv, off: f.offUv, rest: f.restUv };
    S.lastArrival = performance.now();
    S.lastReceived = f.receivedS;
    S.fresh = true;
  } else {
    if (!S.acc || S.accSfreq !== f.sfreq) {
      S.accSfreq = f.sfreq;
      S.acc = new Ring(3, Math.ceil(f.sfreq * (WINDOW_S + 2)));
      setupAccel();
    }
    const t0 = f.firstSample / f.sfreq;
    if (S.nextAcc !== null && f.firstSample !== S.nextAcc) S.acc.gap(t0 - 0.5 / f.sfreq);
    S.acc.push(t0, 1 / f.sfreq, f.signal, f.nTimes);
    S.nextAcc = f.firstSample + f.nTimes;
  }
}

// ---------------------------------------------------------------- charts

function setupEmg(f) {
  for (const c of S.charts) destroyChart(c);
  S.charts = [];
  S.chartsCol.replaceChildren();
  S.sfreq = f.sfreq;
  const cap = Math.ceil(f.sfreq * (WINDOW_S + 2));
  S.emg = new Ring(f.nCh, cap);
  S.env = new Ring(f.nCh, cap);
  S.names = S.status && S.status.quality ? Object.keys(S.status.quality) : [];
  S.yMax = Array(f.nCh).fill(50);
  for (let c = 0; c < f.nCh; c++) {
    const name = S.names[c] || `EMG ${c + 1}`;
    const box = el("div", { class: "chart-box" });
    const panel = el("section", { class: "panel", "aria-label": `${name} signal` },
      el("div", { class: "chart-title" },
        el("span", { class: "name", text: name }),
        el("span", { class: "legend-chip" }, el("i", { style: `background:${SOFT[c]}` }), "filtered EMG"),
        el("span", { class: "legend-chip" }, el("i", { style: `background:${COLORS[c]}` }), "envelope"),
        el("span", { class: "legend-chip" }, el("i", { style: "background:#c62828" }), "onset threshold"),
        el("span", { class: "legend-chip" }, el("i", { style: "background:#7a8699" }), "offset threshold"),
      ),
      box);
    S.chartsCol.append(panel);
    const chart = makeChart(box, {
      height: 190,
      xRange: [-WINDOW_S, 0],
      yRange: () => {
        const y = S ? S.yMax[c] : 50;
        return [-y, y];
      },
      yLabel: "µV",
      xLabel: "seconds",
      cursor: false,
      series: [
        { stroke: SOFT[c], width: 1 },
        { stroke: COLORS[c], width: 2 },
      ],
      hooks: {
        draw: [(u) => {
          const t = S && S.thresholds;
          if (!t) return;
          drawHLines(u, [
            { y: t.on[c], color: "#c62828", label: "onset" },
            { y: t.off[c], color: "#7a8699" },
          ]);
        }],
      },
    });
    S.charts.push(chart);
  }
  if (S.acc) setupAccel();
}

function setupAccel() {
  if (!S.sfreq || S.accChart) return;
  const box = el("div");
  S.chartsCol.append(el("section", { class: "panel", "aria-label": "Accelerometer" },
    el("div", { class: "chart-title" }, el("span", { class: "name", text: "Accelerometer" }),
      ...["x", "y", "z"].map((a, i) => el("span", { class: "legend-chip" }, el("i", { style: `background:${["#455a64", "#00897b", "#8e24aa"][i]}` }), a))),
    box));
  S.accChart = makeChart(box, {
    height: 140, xRange: [-WINDOW_S, 0], yRange: [-1.6, 1.6], yLabel: "g", xLabel: "seconds",
    cursor: false,
    series: ["#455a64", "#00897b", "#8e24aa"].map((stroke) => ({ stroke, width: 1.5 })),
  });
  S.charts.push(S.accChart);
}

// Arrays reused from frame to frame (a redraw allocates nothing that grows with the
// window): the x positions of the bins, shared by the EMG charts, and per channel the
// per-bin extremes and the series handed to uPlot.
let scratch = { bins: 0, x: null, mins: null, maxs: null, emax: null, series: [] };

function scratchFor(bins) {
  if (scratch.bins !== bins) {
    const x = new Array(2 * bins);
    const width = WINDOW_S / bins;
    for (let b = 0; b < bins; b++) {
      x[2 * b] = -WINDOW_S + b * width;
      x[2 * b + 1] = -WINDOW_S + (b + 0.5) * width;
    }
    scratch = {
      bins, x, mins: new Float32Array(bins), maxs: new Float32Array(bins),
      emax: new Float32Array(bins), series: [],
    };
  }
  return scratch;
}

// Min/max per pixel column of the filtered trace, max of the envelope.
function emgData(c, viewEnd, bins) {
  const ring = S.emg;
  const sc = scratchFor(bins);
  const { x, mins, maxs, emax } = sc;
  if (!sc.series[c]) sc.series[c] = [new Array(2 * bins), new Array(2 * bins)];
  const [ys, ye] = sc.series[c];
  mins.fill(Infinity);
  maxs.fill(-Infinity);
  emax.fill(-Infinity);
  const ts = ring.t, vs = ring.ch[c], es = S.env.ch[c];
  const start = viewEnd - WINDOW_S;
  const width = WINDOW_S / bins;
  const last = bins - 1;
  let peak = 0;
  // The ring holds positions [start, start + length) modulo its capacity: two runs.
  const head = Math.min(ring.capacity, ring.start + ring.length);
  const tail = ring.start + ring.length - head;
  for (let run = 0; run < 2; run++) {
    const lo = run === 0 ? ring.start : 0;
    const hi = run === 0 ? head : tail;
    for (let p = lo; p < hi; p++) {
      const t = ts[p];
      if (t < start || t > viewEnd) continue;
      const v = vs[p];
      if (v !== v) continue; // NaN: a gap
      let b = Math.floor((t - start) / width);
      if (b > last) b = last;
      if (v < mins[b]) mins[b] = v;
      if (v > maxs[b]) maxs[b] = v;
      const e = es[p];
      if (e > emax[b]) emax[b] = e;
      const a = v < 0 ? -v : v;
      if (a > peak) peak = a;
    }
  }
  for (let b = 0; b < bins; b++) {
    if (mins[b] === Infinity) {
      ys[2 * b] = ys[2 * b + 1] = ye[2 * b] = ye[2 * b + 1] = null;
      continue;
    }
    ys[2 * b] = mins[b];
    ys[2 * b + 1] = maxs[b];
    // One envelope point per column, at its middle; uPlot joins over undefined (null is a
    // gap). Half the points of a step line and none of its right-angle corners: Chromium's
    // software rendering strokes the 2 px line in about half the time.
    ye[2 * b] = undefined;
    ye[2 * b + 1] = emax[b];
  }
  return { data: [x, ys, ye], peak };
}

function accData(viewEnd) {
  const ring = S.acc;
  const x = [], a = [[], [], []];
  const start = viewEnd - WINDOW_S;
  for (let i = 0; i < ring.length; i++) {
    const p = ring.at(i);
    const t = ring.t[p];
    if (t < start) continue;
    x.push(t - viewEnd);
    for (let k = 0; k < 3; k++) {
      const v = ring.ch[k][p];
      a[k].push(Number.isNaN(v) ? null : v);
    }
  }
  return [x, ...a];
}

function frame(now) {
  if (!S || !S.alive) return;
  S.raf = requestAnimationFrame(frame);
  const st = stats();
  if (S.emg && S.emg.length) {
    const lastT = S.emg.lastTime();
    const viewEnd = lastT + Math.min((now - S.lastArrival) / 1000, MAX_LAG_S);
    S.emg.nCh && S.charts.slice(0, S.emg.nCh).forEach((chart, c) => {
      const bins = Math.max(100, Math.floor(chart.bbox.width / devicePixelRatio));
      const { data, peak } = emgData(c, viewEnd, bins);
      const thr = S.thresholds ? S.thresholds.on[c] : 0;
      const target = Math.max(30, peak * 1.1, Number.isFinite(thr) ? thr * 1.3 : 0);
      S.yMax[c] = target > S.yMax[c] ? target : S.yMax[c] * 0.995 + target * 0.005;
      chart.setData(data, true);
    });
    if (S.accChart && S.acc) {
      const accViewEnd = (S.acc.lastTime() ?? viewEnd);
      S.accChart.setData(accData(Math.max(accViewEnd, viewEnd - 0.2)), true);
    }
    st.draws++;
    S.fpsCount++;
    if (S.fresh && S.offset !== null && S.lastReceived !== null) {
      const serverNow = now / 1000 + S.offset;
      const lat = serverNow - S.lastReceived;
      if (lat >= 0 && lat < 10) {
        st.latencies.push(lat * 1000);
        if (st.latencies.length > 5000) st.latencies.shift();
      }
    }
    S.fresh = false;
  }
  if (now - S.fpsSince >= 1000) {
    st.fps = (S.fpsCount * 1000) / (now - S.fpsSince);
    S.fpsCount = 0;
    S.fpsSince = now;
    updatePerf();
  }
  updateBanner(now);
}

// ---------------------------------------------------------------- side panel and banner

function buildSide(side) {
  S.det = el("dl", { class: "kv" });
  S.pos = el("dl", { class: "kv" });
  S.sig = el("dl", { class: "kv" });
  S.perf = el("p", { class: "perf", id: "perf" });
  side.append(
    el("section", { class: "panel", "aria-label": "Detector" }, el("h2", { text: "Detector" }), S.det),
    el("section", { class: "panel", "aria-label": "Trunk" }, el("h2", { text: "Trunk posture" }), S.pos),
    el("section", { class: "panel", "aria-label": "Signal" }, el("h2", { text: "Signal" }), S.sig, S.perf),
  );
  updateSide();
}

function kv(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

function pill(text, cls) { return el("span", { class: `pill ${cls || ""}`, text }); }

function updateSide() {
  if (!S) return;
  const s = S.status || {};
  const d = s.detector || null;
  let stateText = pill("waiting for signal");
  if (d) {
    if (d.suspected_involuntary) stateText = pill("involuntary episode", "spasm");
    else if (d.contraction) stateText = pill("contraction", "warning");
    else stateText = pill("at rest", "ok");
  }
  kv(S.det, [
    ["State", stateText],
    ["Side", d && d.side ? pill(d.side, d.side) : "–"],
    ["Held", d && d.held_s !== null && d.held_s !== undefined ? `${d.held_s.toFixed(1)} s` : "–"],
    ["Episodes", `${s.involuntary ?? 0} spasms / ${s.episodes ?? 0}`],
    ["Last", S.lastEpisode ? `${S.lastEpisode.involuntary ? "spasm" : "voluntary"}, ${S.lastEpisode.kind}, ${S.lastEpisode.side}` : "–"],
  ]);
  const m = S.motion;
  kv(S.pos, [
    ["Posture", m ? m.posture.replace("_", " ") : "–"],
    ["Activity", m ? m.activity : "–"],
    ["Inclination", m ? `${m.inclination_deg.toFixed(0)}°` : "–"],
    ["Movement", m ? `${(m.dynamic_g * 1000).toFixed(0)} mg` : "–"],
  ]);
  const q = s.quality || {};
  const env = s.envelope_uv || {};
  kv(S.sig, [
    ...Object.keys(q).map((name) => [name, el("span", {}, pill(q[name] === "ok" ? "good contact" : q[name], q[name] === "ok" ? "ok" : "warning"), ` ${env[name] !== undefined ? env[name].toFixed(1) + " µV" : ""}`)]),
    ["Mains", s.mains_hz ? `${s.mains_hz} Hz (notched)` : "–"],
    ["Received", s.stream_s !== undefined ? `${s.stream_s.toFixed(0)} s` : "–"],
  ]);
}

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function updatePerf() {
  const st = stats();
  const lat = st.latencies.slice(-600);
  const p50 = percentile(lat, 50), p99 = percentile(lat, 99);
  S.perf.textContent = `${st.fps.toFixed(0)} fps · latency p50 ${p50 === null ? "–" : p50.toFixed(0)} ms, p99 ${p99 === null ? "–" : p99.toFixed(0)} ms`;
}

function updateBanner(now) {
  const d = S.status && S.status.detector;
  const text = S.banner.querySelector(".text");
  let show = false;
  if (d && d.suspected_involuntary) {
    const held = (d.held_s || 0) + (now - S.statusAt) / 1000;
    const side = d.side ? `${d.side} side` : "side unknown";
    const msg = `Involuntary episode in progress · ${side} · ${held.toFixed(0)} s`;
    if (text.textContent !== msg) text.textContent = msg;
    S.banner.classList.remove("soft");
    show = true;
  } else if (S.flash && now < S.flash.until) {
    if (text.textContent !== S.flash.text) text.textContent = S.flash.text;
    S.banner.classList.add("soft");
    show = true;
  }
  S.banner.classList.toggle("show", show);
  stats().banner = show && !S.banner.classList.contains("soft");
  if (stats().banner) stats().bannerSeen = true;
}
