// Device: connection, transport, rates, loss, CRC errors, reconnects, drift, battery,
// per-channel contact and noise, with advice in plain words.

import { api, el, showError } from "./app.js";

let D = null;

export async function mount(main) {
  D = { main, timer: null };
  main.append(el("h1", { text: "Device" }));
  D.box = el("div", { class: "grid" });
  main.append(D.box);
  await refresh();
  D.timer = setInterval(refresh, 2000);
}

export function unmount() {
  if (D) clearInterval(D.timer);
  D = null;
}

const fmt = (v, unit = "", digits = 0) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(digits)}${unit}`);

async function refresh() {
  if (!D) return;
  let d;
  try {
    d = await api("/api/device");
  } catch (err) {
    showError(D.box, err, "the device");
    return;
  }
  if (!D) return;
  const stateClass = d.state === "connected" ? "ok" : d.state === "not live" ? "" : "error";
  const stat = (label, value) => el("div", { class: "panel stat" }, el("span", { class: "value", text: value }), el("span", { class: "label", text: label }));
  const channels = (d.channels || []).map((c) => el("div", { class: "panel" },
    el("h2", { text: c.name }),
    el("p", {}, el("span", { class: `pill ${c.advice.contact === "good" ? "ok" : c.advice.level}` }, `contact: ${c.advice.contact}`)),
    el("dl", { class: "kv" },
      el("dt", { text: "Quality" }), el("dd", { text: c.quality }),
      el("dt", { text: "Noise at rest" }), el("dd", { text: fmt(c.rest_uv, " µV", 1) }),
      el("dt", { text: "Level now" }), el("dd", { text: fmt(c.envelope_uv, " µV", 1) })),
    el("p", { class: "small", text: c.advice.text })));
  D.box.replaceChildren(
    el("section", { class: "panel", "aria-label": "Advice" }, el("h2", { text: "What to do" }),
      el("ul", { class: "advice", id: "advice" }, ...d.advice.map((a) => el("li", { class: a.level, text: a.text })))),
    el("div", { class: "grid cols-4" },
      el("div", { class: "panel stat" }, el("span", { class: "value" }, el("span", { class: `pill ${stateClass}`, style: "font-size:18px", text: d.state })), el("span", { class: "label", text: "Connection" })),
      stat("Transport", d.transport || "–"),
      stat("EMG rate", fmt(d.sfreq, " Hz")),
      stat("Samples lost", fmt(d.loss_pct, " %", 2)),
      stat("CRC errors", fmt(d.crc_errors)),
      stat("Reconnects", fmt(d.reconnects)),
      stat("Clock drift", fmt(d.drift_ppm, " ppm", 1)),
      stat("Battery", fmt(d.battery_pct, " %"))),
    channels.length ? el("div", { class: "grid cols-2" }, ...channels) : el("p", { class: "muted", text: "No channel report yet." }),
    el("p", { class: "small muted", text: d.source_url ? `Source: ${d.source_url}` : "" }),
  );
}
