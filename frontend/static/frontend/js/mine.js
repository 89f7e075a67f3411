// My applications on this device: queued drafts (with why they wait), refused drafts (to
// correct, or to delete with their personal data), and acknowledged applications with their
// last known status and when it was fetched.
import { askDiscard, discardDraft, onOutboxChange, outbox, prefetchReceipt, refusalText, replay,
  timelineHtml, unfixable } from "./app.js";
import { fetchApplication } from "./api.js";
import { missingHtml } from "./dossier.js";
import { t, when } from "./i18n.js";
import { esc, statusLabel, whyWaiting } from "./shared.js";

const list = document.getElementById("list");

// Refresh each application on its own; a failure leaves the last known status in place.
async function refresh() {
  for (const app of await outbox.all("applications")) {
    try {
      const { ok, data } = await fetchApplication(app.reference, app.access_code);
      if (!ok) continue;
      await outbox.put("applications", { ...app, status: data.status, status_label: data.status_label,
        timeline: data.timeline, queue: data.queue, office_name: data.office?.name, dossier: data.dossier,
        fetched_at: new Date().toISOString(), live: true });
    } catch (e) { /* offline or unreachable: keep what we have */ }
  }
  await render(true);
}

function draftHtml(d) {
  if (d.state === "failed") {
    const hopeless = unfixable(d.error);
    // A refusal no correction can fix points to the application already in progress instead.
    const next = hopeless ? `<a class="button" href="/track">${esc(t("track_other"))}</a>`
      : `<a class="button" href="/?draft=${encodeURIComponent(d.key)}">${esc(t("fix"))}</a>`;
    return `<article class="card draft failed${hopeless ? " unfixable" : ""}" data-key="${esc(d.key)}">
      <h2>${esc(t(hopeless ? "cannot_send" : "needs_fix"))}</h2>
      <p class="name">${esc(d.body?.applicant?.full_name)}</p><p class="why">${esc(refusalText(d.error))}</p>
      <div class="buttons">${next}<button type="button" class="secondary" data-discard>${esc(t("discard"))}</button></div>
      <div class="confirm" hidden></div></article>`;
  }
  return `<article class="card draft queued"><h2 class="waiting">${esc(t("waiting"))}</h2>
    <p>${esc(whyWaiting(d))}</p>${d.last_try_at ? `<p class="meta">${esc(t("attempted", { at: when(d.last_try_at) }))}</p>` : ""}</article>`;
}

function appHtml(a, fresh) {
  const queue = a.queue?.position ? `<p>${esc(t("queue.position", { n: a.queue.position }))}</p>` : "";
  const note = a.queue?.note ? `<p class="note">${esc(a.queue.note)}</p>` : "";
  return `<article class="card app" data-reference="${esc(a.reference)}">
    <h2 class="ref">${esc(a.reference)}</h2>
    <p class="status" data-status="${esc(a.status)}">${esc(statusLabel(a.status, a.status_label))}</p>
    ${queue}${note}
    <p class="meta fetched">${esc(a.fetched_at ? t("last_fetched", { at: when(a.fetched_at) }) : t("not_fetched"))}</p>
    ${fresh ? "" : `<p class="meta stale">${esc(t("stale"))}</p>`}
    ${missingHtml(a.dossier)}
    ${timelineHtml(a)}
    <a href="/receipt#${encodeURIComponent(a.reference)}">${esc(t("see_receipt"))}</a></article>`;
}

let asking = false;  // a delete question is open: re-rendering would take it away

async function render(fresh = false) {
  if (asking) return;
  const drafts = (await outbox.all("drafts")).filter((d) => d.state !== "editing");
  const apps = (await outbox.all("applications")).sort((a, b) => (b.submitted_at || "").localeCompare(a.submitted_at || ""));
  list.innerHTML = drafts.map(draftHtml).join("") + apps.map((a) => appHtml(a, fresh && navigator.onLine)).join("")
    || `<p>${esc(t("mine.empty"))}</p>`;
  if (apps.length) prefetchReceipt();
}

list.addEventListener("click", async (ev) => {
  const button = ev.target.closest("[data-discard]");
  if (!button) return;
  const card = button.closest(".draft");
  asking = true;
  const yes = await askDiscard(card.querySelector(".confirm"));
  asking = false;
  if (yes) {
    await discardDraft(card.dataset.key);
    document.getElementById("mine-msg").textContent = t("discarded");
  }
  await render(navigator.onLine);
  if (!yes) list.querySelector(`[data-key="${CSS.escape(card.dataset.key)}"] [data-discard]`)?.focus();
});

document.getElementById("refresh").addEventListener("click", async () => { await replay(true); await refresh(); });
document.addEventListener("langchange", () => render(navigator.onLine));
document.addEventListener("dossierstored", refresh);
onOutboxChange(() => refresh());
addEventListener("online", refresh);
addEventListener("offline", () => render(false));
await render(false);
if (navigator.onLine) await refresh();
