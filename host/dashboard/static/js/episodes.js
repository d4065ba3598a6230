// Episodes: a sortable, filterable table; the wearer confirms, rejects or relabels an
// episode and adds a note or a trigger. Labels are stored and exported.

import { api, postJson, el, emptyState, showError, fmtTime, fmtDate, toast, DAY_US } from "./app.js";

const COLUMNS = [
  ["start", "When"], ["duration", "Duration"], ["side", "Side"], ["kind", "Type"],
  ["severity", "Severity"], ["confidence", "Confidence"], [null, "Detector"], [null, "Your label"],
];
let E = null;

export async function mount(main, params) {
  E = { sort: "start", order: "desc", selected: Number(params.get("id")) || null, rows: [] };
  let options;
  try {
    options = await api("/api/labels/options");
  } catch (err) {
    showError(main, err, "the episodes");
    return;
  }
  E.options = options;
  const filters = el("form", { class: "row no-print", role: "search", "aria-label": "Filter episodes", onsubmit: (ev) => { ev.preventDefault(); load(); } },
    select("range", "Range", [["7", "Last 7 days"], ["30", "Last 30 days"], ["365", "Last year"], ["all", "Everything"]], "all"),
    select("side", "Side", [["", "Both sides"], ["left", "Left"], ["right", "Right"], ["bilateral", "Bilateral"]]),
    select("kind", "Type", [["", "All types"], ["tonic", "Tonic"], ["clonic", "Clonic"], ["myoclonic", "Myoclonic"], ["cramp", "Cramp"], ["voluntary", "Voluntary"]]),
    select("involuntary", "Call", [["", "Spasms and voluntary"], ["true", "Spasms only"], ["false", "Voluntary only"]]),
    select("review", "Review", [["", "All"], ["unreviewed", "Not reviewed"], ["reviewed", "Reviewed"]]),
  );
  for (const s of filters.querySelectorAll("select")) s.addEventListener("change", load);
  E.filters = filters;
  E.table = el("div", { class: "panel", style: "padding:0;overflow:auto" });
  E.panel = el("aside", { class: "panel", "aria-label": "Review the selected episode" });
  E.count = el("p", { class: "small muted", "aria-live": "polite" });
  main.append(el("h1", { text: "Episodes" }), filters, E.count,
    el("div", { class: "review-layout" }, E.table, E.panel));
  renderPanel(null);
  await load();
}

export function unmount() { E = null; }

function select(name, label, options, value = "") {
  const id = `f-${name}`;
  const s = el("select", { id, name });
  for (const [v, text] of options) s.append(el("option", { value: v, selected: v === value }, text));
  return el("label", { for: id, class: "field", style: "margin:0" }, label, s);
}

async function load() {
  if (!E) return;
  const f = new FormData(E.filters);
  const params = { sort: E.sort, order: E.order, limit: 1000 };
  for (const k of ["side", "kind", "involuntary", "review"]) params[k] = f.get(k);
  const range = f.get("range");
  if (range !== "all") {
    const ext = await api("/api/extent").catch(() => null);
    const end = ext && ext.end_us ? ext.end_us + 1 : Date.now() * 1000;
    params.start = end - Number(range) * DAY_US;
    params.end = end;
  }
  let data;
  try {
    data = await api("/api/episodes", params);
  } catch (err) {
    showError(E.table, err, "the episodes");
    E.count.textContent = "";
    return;
  }
  if (!E) return;
  E.rows = data.episodes;
  E.count.textContent = `${data.total} episode${data.total === 1 ? "" : "s"}`;
  renderTable();
  const chosen = E.rows.find((r) => r.id === E.selected);
  if (chosen) renderPanel(chosen);
  else if (E.selected) openById(E.selected);
}

async function openById(id) {
  try {
    renderPanel(await api(`/api/episodes/${id}`));
  } catch (err) {
    showError(E.panel, err, `episode ${id}`);
  }
}

function renderTable() {
  if (!E.rows.length) {
    emptyState(E.table, "No episodes here", "No episode matches these filters. Episodes appear once a recording has run (spasmwatch run or demo).");
    return;
  }
  const head = el("tr", {}, ...COLUMNS.map(([key, title]) => {
    if (!key) return el("th", { scope: "col", text: title });
    const sorted = E.sort === key;
    return el("th", { scope: "col", "aria-sort": sorted ? (E.order === "asc" ? "ascending" : "descending") : "none" },
      el("button", { type: "button", onclick: () => {
        if (E.sort === key) E.order = E.order === "asc" ? "desc" : "asc";
        else { E.sort = key; E.order = key === "start" ? "desc" : "asc"; }
        load();
      } }, title));
  }));
  const body = el("tbody");
  for (const r of E.rows) {
    const label = r.label ? r.label.label + (r.label.trigger ? ` · ${r.label.trigger}` : "") : "–";
    const tr = el("tr", {
      tabindex: 0, "data-id": r.id, "aria-selected": String(r.id === E.selected),
      onclick: () => select_(r), onkeydown: (ev) => { if (ev.key === "Enter") select_(r); },
    },
    el("td", { class: "num" }, `${fmtDate(r.start_us)} ${fmtTime(r.start_us)}`),
    el("td", { class: "num" }, `${r.duration_s.toFixed(1)} s`),
    el("td", {}, el("span", { class: `pill ${r.side}` }, r.side)),
    el("td", {}, r.kind),
    el("td", {}, r.severity),
    el("td", { class: "num" }, r.confidence ? `${(100 * r.confidence).toFixed(0)} %` : "–"),
    el("td", {}, el("span", { class: `pill ${r.involuntary ? "spasm" : ""}` }, r.kind === "twitch" ? "twitch" : r.involuntary ? "spasm" : "voluntary")),
    el("td", { class: "label-cell" }, label));
    body.append(tr);
  }
  E.table.replaceChildren(el("table", {}, el("caption", { class: "muted small", style: "text-align:left;padding:8px 10px" }, "Click a row to review it"), el("thead", {}, head), body));
}

function select_(row) {
  E.selected = row.id;
  for (const tr of E.table.querySelectorAll("tbody tr")) tr.setAttribute("aria-selected", String(Number(tr.dataset.id) === row.id));
  renderPanel(row);
}

function renderPanel(row) {
  if (!row) {
    E.panel.replaceChildren(el("h2", { text: "Review" }), el("p", { class: "muted", text: "Choose an episode in the table. Confirm or reject the detector's call, or relabel it; add what may have set it off. Your labels are the ground truth for tuning the detector to you." }));
    return;
  }
  const current = row.label;
  const note = el("textarea", { id: "label-note", name: "note", maxlength: 2000 }, current ? current.note : "");
  const trigger = el("select", { id: "label-trigger", name: "trigger" },
    el("option", { value: "" }, "— none —"),
    ...E.options.triggers.map((t) => el("option", { value: t, selected: current && current.trigger === t }, t)));
  const relabel = el("select", { id: "label-relabel", name: "relabel" },
    ...E.options.labels.map((l) => el("option", { value: l, selected: current && current.label === l }, l)));
  const save = async (label) => {
    try {
      const updated = await postJson(`/api/episodes/${row.id}/labels`, { label, note: note.value, trigger: trigger.value });
      toast(`Saved: ${updated.label.label}`);
      E.selected = row.id;
      await load();
    } catch (err) {
      toast(`Not saved: ${err.message}`);
    }
  };
  const call = row.involuntary ? "spasm" : "voluntary";
  E.panel.replaceChildren(
    el("h2", { text: `Episode at ${fmtTime(row.start_us, { date: true })}` }),
    el("p", { class: "small" }, `The detector called it `, el("strong", { text: call }),
      ` (${row.kind}, ${row.side}, ${row.duration_s.toFixed(1)} s, ${row.severity}).`,
      row.activity_before ? ` Before it: ${row.activity_before}, ${row.posture_before || "posture unknown"}.` : ""),
    current ? el("p", { class: "small", id: "current-label" }, "Your label: ", el("strong", { text: current.label }), current.trigger ? ` · trigger: ${current.trigger}` : "", current.note ? ` · “${current.note}”` : "") : el("p", { class: "small muted", id: "current-label", text: "Not reviewed yet." }),
    el("label", { class: "field", for: "label-trigger" }, "What set it off?", trigger),
    el("label", { class: "field", for: "label-note" }, "Note", note),
    el("div", { class: "row", style: "margin-bottom:12px" },
      el("button", { type: "button", class: "primary", id: "btn-confirm", onclick: () => save(call) }, `Confirm ${call}`),
      el("button", { type: "button", class: "danger", id: "btn-reject", onclick: () => save(row.involuntary ? "voluntary" : "spasm") }, row.involuntary ? "Not a spasm" : "It was a spasm")),
    el("div", { class: "row" },
      el("label", { class: "field", for: "label-relabel", style: "margin:0" }, "Relabel as", relabel),
      el("button", { type: "button", id: "btn-relabel", onclick: () => save(relabel.value), style: "align-self:flex-end" }, "Save label")),
    el("p", { class: "small", style: "margin-top:14px" }, el("a", { href: `#timeline?t=${row.start_us}` }, "Show on the timeline")),
  );
}
