// Export: pick a range and a format, download.

import { api, el, showError, emptyState, toast, fmtDate, startOfDayUs, DAY_US, ApiError } from "./app.js";

let X = null;

const pad = (n) => String(n).padStart(2, "0");
function localInput(us) {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function mount(main) {
  X = { main };
  main.append(el("h1", { text: "Export" }));
  let formats, ext;
  try {
    [formats, ext] = await Promise.all([api("/api/export/formats"), api("/api/extent")]);
  } catch (err) {
    showError(main, err, "the export page");
    return;
  }
  if (ext.start_us === null) {
    emptyState(main, "Nothing recorded yet", "Exports become available once a session has been recorded.");
    return;
  }
  const start = el("input", { type: "datetime-local", id: "exp-start", value: localInput(Math.max(ext.start_us, ext.end_us - DAY_US)), step: 1 });
  const end = el("input", { type: "datetime-local", id: "exp-end", value: localInput(ext.end_us + 60e6), step: 1 });
  const list = el("fieldset", { class: "grid", style: "border:none;padding:0;margin:0" }, el("legend", { class: "muted small", text: "Format" }),
    ...formats.formats.map((f, i) => el("label", { class: "row", style: "gap:8px" },
      el("input", { type: "radio", name: "format", value: f.name, checked: i === 0 }),
      el("span", {}, el("strong", { text: f.title }), el("span", { class: "muted small", text: ` — ${f.description}` })))));
  const status = el("p", { class: "small", role: "status", "aria-live": "polite" });
  const button = el("button", { type: "button", class: "primary", id: "exp-download" }, "Download");
  button.addEventListener("click", async () => {
    const fmt = list.querySelector("input[name=format]:checked").value;
    const a = new Date(start.value).getTime() * 1000, b = new Date(end.value).getTime() * 1000;
    if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) {
      status.textContent = "Choose a start before the end.";
      return;
    }
    button.disabled = true;
    status.textContent = "Preparing the export…";
    try {
      const url = `/api/export?start=${Math.round(a)}&end=${Math.round(b)}&format=${encodeURIComponent(fmt)}`;
      const response = await fetch(url);
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new ApiError(response.status, body.detail || response.statusText, body.code);
      }
      const blob = await response.blob();
      const name = (response.headers.get("content-disposition") || "").match(/filename\*?=(?:UTF-8'')?"?([^";]+)/);
      const link = el("a", { href: URL.createObjectURL(blob), download: name ? decodeURIComponent(name[1]) : `spasmwatch.${fmt}` });
      document.body.append(link);
      link.click();
      link.remove();
      status.textContent = `Downloaded ${link.download} (${(blob.size / 1024).toFixed(0)} KiB).`;
      toast("Export ready");
    } catch (err) {
      status.textContent = `Export failed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  main.append(el("section", { class: "panel grid", style: "max-width:760px" },
    el("p", { class: "muted small", text: `Recordings from ${fmtDate(ext.start_us)} to ${fmtDate(ext.end_us)}. Times are local.` }),
    el("div", { class: "row" },
      el("label", { class: "field", for: "exp-start", style: "margin:0" }, "From", start),
      el("label", { class: "field", for: "exp-end", style: "margin:0" }, "To", end)),
    list, el("div", { class: "row" }, button), status));
}

export function unmount() { X = null; }
