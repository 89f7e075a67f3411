// Shared start-up for every applicant page.
// Hand-written ES modules and no bundler or framework: browsers load modules natively, the
// whole shell stays small enough for a cheap phone on a weak signal, and there is no build
// step between the source in git and what the service worker caches.
import "./outbox.js";
import { lang, when } from "./i18n.js";
import { bindLanguageToggle, esc, refreshStatusLabels, statusLabel } from "./shared.js";

export const outbox = self.TangguhOutbox;

export function timelineHtml(app) {
  const items = (app.timeline || []).map((e) => `<li><span>${esc(statusLabel(e.status, e.label))}</span>
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

// The QR library is needed only by receipts, so it is not in the precached shell: the worker
// keeps it once fetched. Pages that know of an application fetch it ahead of time while
// online, so the receipt can still be shown at a counter with no signal.
export function prefetchReceipt() {
  if (navigator.onLine) import("../vendor/qrcode.mjs").catch(() => {});
}

function showNetwork() {
  document.getElementById("net").hidden = navigator.onLine;
}

bindLanguageToggle();
showNetwork();
addEventListener("offline", showNetwork);
addEventListener("online", () => { showNetwork(); replay(true); refreshStatusLabels(); });
replay(true);
refreshStatusLabels();
// The timer respects each item's backoff; 10 s is only how often we look.
setInterval(() => navigator.onLine && replay(false), 10000);
