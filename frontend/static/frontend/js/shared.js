// Helpers shared by the applicant pages and the staff pages, so each fact lives in one place:
// escaping, putting a page into the chosen language, durations, why an application is still
// waiting, and status labels. Status labels are always the server's words (lifecycle.py): the
// last table it sent is kept in localStorage so a phone can show them offline, in either
// language, and there is no second table here to drift from the clerk's.
import { lang, t as appT } from "./i18n.js";

export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Put `root` into the chosen language: every [data-i18n] element gets t(key). Staff pages pass
// their own t (staff words first, then the applicants').
export function localize(t = appT, root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const toggle = document.getElementById("lang-toggle");
  if (toggle) {
    toggle.textContent = lang() === "en" ? "ID" : "EN";
    toggle.setAttribute("aria-label", lang() === "en" ? "Ganti ke Bahasa Indonesia" : "Switch to English");
  }
}

// The ID/EN button of every page. The choice lives in localStorage ("lang"), so it survives
// offline reloads; pages re-render on `langchange` (labels from the server included).
export function bindLanguageToggle(t = appT) {
  localize(t);
  document.getElementById("lang-toggle")?.addEventListener("click", () => {
    localStorage.setItem("lang", lang() === "en" ? "id" : "en");
    localize(t);
    document.dispatchEvent(new CustomEvent("langchange"));
  });
}

// How long something has waited, short: "45 dtk", "12 mnt", "3 jam 5 mnt" ("s", "min", "h").
export function age(seconds) {
  if (seconds == null) return "–";
  const [s, min, h] = lang() === "en" ? ["s", "min", "h"] : ["dtk", "mnt", "jam"];
  if (seconds < 120) return `${Math.round(seconds)} ${s}`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} ${min}` : `${Math.floor(minutes / 60)} ${h} ${minutes % 60} ${min}`;
}

// Why a queued draft has not reached the office yet (its `reason` is set by outbox.js).
const REASONS = new Set(["offline", "unreachable", "busy"]);
export function whyWaiting(draft) {
  const reason = !navigator.onLine ? "offline" : REASONS.has(draft?.reason) ? draft.reason : "new";
  return appT(`why.${reason}`);
}

// --- Status labels: the server's, cached for offline use ---------------------------------
const LABELS = "status-labels";

function cachedLabels() {
  try { return JSON.parse(localStorage.getItem(LABELS) || "{}"); } catch (e) { return {}; }
}

// The label of `status` in the chosen language: the last table the server sent, else the label
// that came with the data (in the language it was fetched in), else the code itself.
export function statusLabel(status, serverLabel) {
  return cachedLabels()[lang()]?.[status] || serverLabel || status;
}

// Fetch the table (GET /api/v1/statuses: every label in both languages; nothing personal).
export async function refreshStatusLabels() {
  try {
    const res = await fetch("/api/v1/statuses", { credentials: "omit", cache: "no-store" });
    if (res.ok) localStorage.setItem(LABELS, JSON.stringify((await res.json()).labels));
  } catch (e) { /* offline: keep the last table */ }
}
