// The receipt: reference, access code and a QR code of the reference (drawn on the phone by
// the vendored MIT qrcode-generator, so it works offline and no QR service sees anything).
import { esc, outbox, statusText } from "./app.js";
import { t } from "./i18n.js";
import qrcode from "../vendor/qrcode.mjs";

const box = document.getElementById("receipt");

async function render() {
  const reference = decodeURIComponent(location.hash.slice(1));
  const app = reference && await outbox.get("applications", reference);
  if (!app) {
    box.innerHTML = `<p>${esc(t("receipt.missing"))}</p>`;
    return;
  }
  const qr = qrcode(0, "M");
  qr.addData(app.reference);
  qr.make();
  box.innerHTML = `<div class="qr">${qr.createSvgTag({ cellSize: 4, margin: 8, scalable: true, alt: app.reference })}</div>
    <dl class="review"><dt>${esc(t("reference"))}</dt><dd class="ref" id="reference">${esc(app.reference)}</dd>
    <dt>${esc(t("access_code"))}</dt><dd class="ref" id="access-code">${esc(app.access_code)}</dd>
    <dt>${esc(t("office"))}</dt><dd>${esc(app.office_name || app.office)}</dd>
    <dt>${esc(t("status"))}</dt><dd>${esc(statusText(app.status, app.status_label))}</dd></dl>`;
}

addEventListener("hashchange", render);
document.addEventListener("langchange", render);
render();
