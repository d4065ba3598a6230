// The dashboard's shell: a hash router, the API helper and shared formatting.

export class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, params = {}, options = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    throw new ApiError(0, "The dashboard cannot be reached: is spasmwatch still running?", "offline");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    let code = "http_error";
    try {
      const body = await response.json();
      detail = body.detail || detail;
      code = body.code || code;
    } catch (err) { /* not JSON */ }
    throw new ApiError(response.status, detail, code);
  }
  return response.json();
}

export function postJson(path, body) {
  return api(path, {}, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function emptyState(container, title, text, { error = false } = {}) {
  container.replaceChildren(
    el("div", { class: `panel empty${error ? " error-box" : ""}`, role: error ? "alert" : "status" },
      el("h2", { text: title }), el("p", { text })),
  );
}

export function showError(container, err, what) {
  if (err instanceof ApiError && (err.code === "no_store" || err.code === "no_data")) {
    emptyState(container, "Nothing recorded yet", err.message);
  } else {
    emptyState(container, `Could not load ${what}`, err.message || String(err), { error: true });
  }
}

const pad = (n) => String(n).padStart(2, "0");
export function fmtTime(us, { seconds = true, date = false } = {}) {
  if (us === null || us === undefined) return "–";
  const d = new Date(us / 1000);
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? ":" + pad(d.getSeconds()) : ""}`;
  return date ? `${fmtDate(us)} ${t}` : t;
}
export function fmtDate(us) {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
export function fmtDuration(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
export function startOfDayUs(us) {
  const d = new Date(us / 1000);
  d.setHours(0, 0, 0, 0);
  return d.getTime() * 1000;
}
export const DAY_US = 86400e6;
export const KIND_COLORS = {
  tonic: "#c62828", clonic: "#8e24aa", myoclonic: "#ef6c00", cramp: "#6d4c41",
  twitch: "#9e9e9e", voluntary: "#78909c",
};
export function toast(text) {
  let node = document.querySelector(".toast");
  if (!node) {
    node = el("div", { class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(node);
  }
  node.textContent = text;
  node.classList.add("show");
  clearTimeout(node._timer);
  node._timer = setTimeout(() => node.classList.remove("show"), 2500);
}

// ---------------------------------------------------------------- router

const PAGES = ["live", "timeline", "episodes", "summary", "device", "calibration", "export"];
const TITLES = {
  live: "Live", timeline: "Timeline", episodes: "Episodes", summary: "Summary",
  device: "Device", calibration: "Calibration", export: "Export",
};
let current = null;

async function route() {
  const [name, query] = (window.location.hash.slice(1) || "live").split("?");
  const page = PAGES.includes(name) ? name : "live";
  const main = document.getElementById("main");
  if (current && current.unmount) current.unmount();
  current = null;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${TITLES[page]} · spasmwatch`;
  main.replaceChildren();
  try {
    const module = await import(`./${page}.js`);
    current = module;
    await module.mount(main, new URLSearchParams(query || ""));
  } catch (err) {
    console.error(err);
    showError(main, err, TITLES[page].toLowerCase());
  }
}

async function connection() {
  const node = document.getElementById("conn");
  const text = node.querySelector(".text");
  try {
    const state = await api("/api/live");
    node.classList.toggle("live", state.live);
    node.classList.remove("down");
    text.textContent = state.live ? "Recording live" : "Reviewing recordings";
  } catch (err) {
    node.classList.remove("live");
    node.classList.add("down");
    text.textContent = "Dashboard unreachable";
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  route();
  connection();
  setInterval(connection, 5000);
});
