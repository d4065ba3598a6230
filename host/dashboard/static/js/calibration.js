// Calibration wizard: rest, then reference contractions on cue, then the result.

import { api, postJson, el, showError, fmtTime, toast } from "./app.js";

let C = null;

export async function mount(main) {
  C = { main, timer: null };
  main.append(el("h1", { text: "Calibration" }),
    el("p", { class: "muted", style: "max-width:60em", text: "The calibration measures your resting level and your reference contraction, so episode amplitudes read in % of your maximal voluntary contraction (%MVC). It takes about a minute: relax first, then push your back muscles as hard as you can on each “go” (lying face down and lifting the chest, or pushing back against a chair), and let go on “release”." }));
  C.box = el("div", { class: "grid" });
  main.append(C.box);
  await refresh();
  C.timer = setInterval(refresh, 500);
}

export function unmount() {
  if (C) clearInterval(C.timer);
  C = null;
}

async function start() {
  try {
    await postJson("/api/calibration/start", {});
  } catch (err) {
    toast(err.message);
  }
  refresh();
}

async function cancel() {
  await postJson("/api/calibration/cancel", {}).catch(() => null);
  refresh();
}

async function refresh() {
  if (!C) return;
  let s;
  try {
    s = await api("/api/calibration");
  } catch (err) {
    showError(C.box, err, "the calibration");
    return;
  }
  if (!C) return;
  const parts = [];
  if (s.state === "running") {
    const p = s.prompt;
    const done = s.duration_s ? Math.min(1, s.elapsed_s / (s.elapsed_s + (s.remaining_s ?? s.duration_s))) : 0;
    parts.push(el("section", { class: "panel", "aria-label": "Calibration in progress" },
      el("div", { class: `prompt-big ${p ? p.kind : ""}`, role: "status", "aria-live": "assertive", id: "cal-prompt" }, p ? p.text : "Waiting for the signal…"),
      el("p", { class: "small muted" }, `${s.phase || "starting"}${s.trial ? ` · contraction ${s.trial} of ${s.n_trials}` : ""} · about ${Math.ceil(s.remaining_s ?? s.duration_s)} s left`),
      el("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(100 * done) }, el("i", { style: `width:${(100 * done).toFixed(0)}%` })),
      el("p", {}, el("button", { type: "button", onclick: cancel }, "Cancel"))));
  } else {
    const intro = [];
    if (s.state === "done" && s.result) intro.push(el("p", { class: "pill ok", text: "Calibration saved: it is used from the next recording on." }));
    if (s.state === "failed") intro.push(el("p", { class: "pill error", role: "alert", text: s.error || "The calibration failed." }));
    if (s.state === "cancelled") intro.push(el("p", { class: "muted", text: "Cancelled: nothing was saved." }));
    parts.push(el("section", { class: "panel" }, ...intro,
      s.live
        ? el("div", { class: "row" }, el("button", { type: "button", class: "primary", id: "cal-start", onclick: start }, "Start calibration"), el("span", { class: "muted small", text: `about ${Math.round(s.duration_s)} s; the recording goes on meanwhile` }))
        : el("p", { class: "muted", text: "Calibrating needs the wearable streaming to this dashboard (spasmwatch run --dashboard), or run spasmwatch calibrate in a terminal." })));
  }
  const list = s.calibrations || [];
  if (list.length) {
    const latest = list[list.length - 1];
    parts.push(el("section", { class: "panel", "aria-label": "Latest calibration" },
      el("h2", { text: `Latest calibration · ${fmtTime(latest.created_us, { date: true })}` }),
      el("table", {}, el("thead", {}, el("tr", {}, ...["channel", "noise", "rest", `reference (${latest.reference_kind})`].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...latest.channels.map((c) => el("tr", {},
          el("td", { text: c.name }), el("td", { class: "num", text: `${c.noise_uv} µV` }),
          el("td", { class: "num", text: `${c.rest_uv} µV` }), el("td", { class: "num", text: `${c.reference_uv} µV` }))))),
      el("p", { class: "small muted", text: `${list.length} calibration${list.length === 1 ? "" : "s"} stored; the latest is used.` })));
  } else {
    parts.push(el("p", { class: "muted", text: "No calibration stored yet: amplitudes are shown in µV." }));
  }
  C.box.replaceChildren(...parts);
}
