// Shared start-up for every applicant page.
// Hand-written ES modules and no bundler or framework: browsers load modules natively, the
// whole shell stays small enough for a cheap phone on a weak signal, and there is no build
// step between the source in git and what the service worker caches.
import "./outbox.js";
import { lang, t, when } from "./i18n.js";
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

// What the office's refusal of a draft means for the applicant. Some refusals no correction of
// the form can fix (this NIK already has an application in progress): the applicant is told
// what to do instead and offered to delete the draft, with its personal data, from the phone.
const UNFIXABLE = new Set(["active_application_exists"]);
export const unfixable = (error) => UNFIXABLE.has(error?.error);

export function refusalText(error) {
  return error?.error === "active_application_exists" ? `${t("err.active")} ${t("err.unfixable")}`
    : error?.error === "service_unavailable" ? t("err.express_closed") : error?.detail || "";
}

// Ask before deleting a refused draft: a question with its two buttons, put into `box` (not
// window.confirm, which installed web apps may suppress). Resolves true on "yes".
export function askDiscard(box) {
  box.innerHTML = `<p class="ask">${esc(t("discard.ask"))}</p><div class="buttons">
    <button type="button" class="danger" data-answer="yes">${esc(t("discard.yes"))}</button>
    <button type="button" class="secondary" data-answer="no">${esc(t("cancel"))}</button></div>`;
  box.hidden = false;
  box.querySelector("[data-answer=no]").focus();  // the safe answer is the default
  return new Promise((resolve) => {
    box.addEventListener("click", function answer(ev) {
      const button = ev.target.closest("[data-answer]");
      if (!button) return;
      box.removeEventListener("click", answer);
      box.hidden = true;
      box.innerHTML = "";
      resolve(button.dataset.answer === "yes");
    });
  });
}

// The draft and everything personal in it leave the phone (refused drafts only: a queued one
// may already be on its way, and the office would still receive it).
export async function discardDraft(key) {
  const draft = await outbox.get("drafts", key);
  if (draft?.state === "failed") {
    await outbox.del("drafts", key);
    // Its documents go too (dossier.js keeps them under the draft's key).
    for (const file of await outbox.all("files")) if (file.owner === key) await outbox.del("files", file.id);
  }
  outbox.notify();
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
