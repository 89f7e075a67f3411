// The receipt: reference, access code and a QR code of the reference (drawn on the phone by
// the vendored MIT qrcode-generator, so it works offline and no QR service sees anything).
// The QR library is loaded here only (not part of the precached shell; see app.js).
import { outbox } from "./app.js";
import { fetchApplication } from "./api.js";
import { missingHtml, mountDocuments } from "./dossier.js";
import { t } from "./i18n.js";
import { esc, statusLabel } from "./shared.js";

const box = document.getElementById("receipt");

// Without the library (never fetched on this phone, and offline now) the reference and access
// code below are still there for the clerk to type in.
async function qrSvg(reference) {
  try {
    const qr = (await import("../vendor/qrcode.mjs")).default(0, "M");
    qr.addData(reference);
    qr.make();
    return qr.createSvgTag({ cellSize: 4, margin: 8, scalable: true, alt: reference });
  } catch (e) {
    return "";
  }
}

let app = null;

// The office's view of the files (what is missing or refused, and why), kept for offline.
async function refresh() {
  if (!app || !navigator.onLine) return;
  try {
    const { ok, data } = await fetchApplication(app.reference, app.access_code);
    if (!ok) return;
    app = { ...(await outbox.get("applications", app.reference)), dossier: data.dossier,
      status: data.status, status_label: data.status_label, office_name: data.office?.name };
    await outbox.put("applications", app);
    render();
    drawDocuments();
  } catch (e) { /* offline: keep the last known */ }
}

// The groups still to send: the office's list when known, else whatever this phone holds.
async function groups() {
  if (!app) return [];
  if (app.dossier) return app.dossier.required.filter((c) => c !== "photo" && c !== "signature");
  const files = (await outbox.all("files")).filter((f) => f.owner === app.key || f.owner === app.reference);
  return [...new Set(files.map((f) => f.kind))];
}

async function render() {
  const reference = decodeURIComponent(location.hash.slice(1));
  app = reference ? await outbox.get("applications", reference) : null;
  if (!app) {
    box.innerHTML = `<p>${esc(t("receipt.missing"))}</p>`;
    return;
  }
  box.innerHTML = `<div class="qr">${await qrSvg(app.reference)}</div>
    <dl class="review"><dt>${esc(t("reference"))}</dt><dd class="ref" id="reference">${esc(app.reference)}</dd>
    <dt>${esc(t("access_code"))}</dt><dd class="ref" id="access-code">${esc(app.access_code)}</dd>
    <dt>${esc(t("office"))}</dt><dd>${esc(app.office_name || app.office)}</dd>
    <dt>${esc(t("status"))}</dt><dd>${esc(statusLabel(app.status, app.status_label))}</dd></dl>
    <div id="dossier-status">${missingHtml(app.dossier)}</div>`;
}

const drawDocuments = mountDocuments(document.getElementById("docs"), () => app?.key || app?.reference,
  groups, () => app?.dossier);
addEventListener("hashchange", async () => { await render(); drawDocuments(); refresh(); });
addEventListener("online", refresh);
document.addEventListener("langchange", render);
document.addEventListener("dossierstored", refresh);
await render();
drawDocuments();
refresh();
