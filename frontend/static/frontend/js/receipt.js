// The receipt: reference, access code and a QR code of the reference (drawn on the phone by
// the vendored MIT qrcode-generator, so it works offline and no QR service sees anything).
// The QR library is loaded here only (not part of the precached shell; see app.js).
import { outbox } from "./app.js";
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

async function render() {
  const reference = decodeURIComponent(location.hash.slice(1));
  const app = reference && await outbox.get("applications", reference);
  if (!app) {
    box.innerHTML = `<p>${esc(t("receipt.missing"))}</p>`;
    return;
  }
  box.innerHTML = `<div class="qr">${await qrSvg(app.reference)}</div>
    <dl class="review"><dt>${esc(t("reference"))}</dt><dd class="ref" id="reference">${esc(app.reference)}</dd>
    <dt>${esc(t("access_code"))}</dt><dd class="ref" id="access-code">${esc(app.access_code)}</dd>
    <dt>${esc(t("office"))}</dt><dd>${esc(app.office_name || app.office)}</dd>
    <dt>${esc(t("status"))}</dt><dd>${esc(statusLabel(app.status, app.status_label))}</dd></dl>`;
}

addEventListener("hashchange", render);
document.addEventListener("langchange", render);
render();
