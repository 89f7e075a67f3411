// Shared start-up for every applicant page.
// Hand-written ES modules and no bundler or framework: browsers load modules natively, the
// whole shell stays small enough for a cheap phone on a weak signal, and there is no build
// step between the source in git and what the service worker caches.
import "./outbox.js";
import { applyI18n, lang, setLang, t, when } from "./i18n.js";

export const outbox = self.TangguhOutbox;
export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function statusText(status, serverLabel) {
  const key = `st.${status}`;
  return t(key) === key ? serverLabel || status : t(key);
}

export function timelineHtml(app) {
  const items = (app.timeline || []).map((e) => `<li><span>${esc(statusText(e.status, e.label))}</span>
    <time datetime="${esc(e.at)}">${esc(when(e.at))}</time>${e.note ? `<p>${esc(e.note)}</p>` : ""}</li>`);
  return items.length ? `<ol class="timeline">${items.join("")}</ol>` : "";
}

export function replay(force = false) {
  return outbox.replay({ force, language: lang() }).catch(() => 0);
}

// Background Sync where the browser has it (Chromium); elsewhere (Safari, WebView) the page
// load, `online` and the timer below do the same job.
export async function requestSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    await reg?.sync?.register("tangguh-outbox");
  } catch (e) { /* no Background Sync: the fallbacks cover it */ }
}

export function onOutboxChange(fn) {
  if (self.BroadcastChannel) new BroadcastChannel(outbox.CHANNEL).onmessage = fn;
}

function showNetwork() {
  document.getElementById("net").hidden = navigator.onLine;
}

applyI18n();
showNetwork();
document.getElementById("lang-toggle").addEventListener("click", () => setLang(lang() === "en" ? "id" : "en"));
addEventListener("offline", showNetwork);
addEventListener("online", () => { showNetwork(); replay(true); });
replay(true);
// The timer respects each item's backoff; 10 s is only how often we look.
setInterval(() => navigator.onLine && replay(false), 10000);
