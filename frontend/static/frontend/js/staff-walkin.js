// Walk-in intake: the same rules as the applicants' form (validate.js) and the same
// Idempotency-Key protocol (a retry after a network failure reuses the key, so the applicant is
// never registered twice). The shared counter browser keeps nothing: the key and the answer
// live in this module's memory only, the form asks the browser not to autofill, and the
// receipt (reference, access code, QR) is shown once, printed, then wiped.
import { t as appT } from "./i18n.js";
import { validateApplication } from "./validate.js";
import { call, clearErrors, esc, office, problem, say, showErrors, t } from "./counter-common.js";
import qrcode from "../vendor/qrcode.mjs";

const form = document.getElementById("walkin");
const handout = document.getElementById("handout");
const APPLICANT = ["nik", "full_name", "sex", "date_of_birth", "place_of_birth", "mother_name",
  "address", "phone", "email"];
let key = null; // this filling's Idempotency-Key (memory only)
let wipeTimer = null;

function body() {
  const f = form.elements;
  const applicant = Object.fromEntries(APPLICANT.map((n) => [n, f[n].value.trim()]));
  if (!applicant.email) delete applicant.email;
  const b = { service: f.service.value, passport_type: f.passport_type.value,
    application_type: f.application_type.value, applicant, check_in: f.check_in.checked };
  // UU PDP: the clerk records that the applicant agreed to this version of the consent text.
  if (f.consent_version.checked) b.consent_version = f.consent_version.value;
  if (f.lane.value) b.lane = f.lane.value;
  return b;
}

const message = (code) => (appT(`v.${code}`) === `v.${code}` ? code : appT(`v.${code}`));

form.addEventListener("input", () => { key = null; }); // a changed form is a new request
form.addEventListener("reset", () => { key = null; clearErrors(form); });

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  wipe();
  const b = body();
  const codes = validateApplication({ ...b, office });
  delete codes.office;
  if (Object.keys(codes).length) {
    return showErrors(form, Object.fromEntries(Object.entries(codes).map(([k, c]) => [k, [message(c)]])));
  }
  key ??= crypto.randomUUID();
  const submit = form.querySelector("[type=submit]");
  submit.disabled = true;
  const res = await call("/api/v1/walk-ins", { method: "POST", body: b, headers: { "Idempotency-Key": key } });
  submit.disabled = false;
  if (!res.ok) {
    const detail = res.data.note ? `${problem(res)} ${res.data.note}` : problem(res);
    return showErrors(form, res.data.fields, res.data.fields ? "" : detail);
  }
  key = null;
  form.reset();
  show(res.data);
});

function show(r) {
  const qr = qrcode(0, "M");
  qr.addData(r.reference);
  qr.make();
  handout.innerHTML = `<h2 id="handout-title">${esc(t("w.receipt"))}</h2>
    <div class="qr">${qr.createSvgTag({ cellSize: 4, margin: 8, scalable: true, alt: r.reference })}</div>
    <dl class="review"><dt>${esc(appT("reference"))}</dt><dd class="ref" id="walkin-reference">${esc(r.reference)}</dd>
    <dt>${esc(appT("access_code"))}</dt><dd class="ref" id="walkin-code">${esc(r.access_code)}</dd>
    ${r.ticket ? `<dt>${esc(t("c.ticket.given"))}</dt><dd class="ref" id="walkin-ticket">${esc(r.ticket.number)}</dd>` : ""}</dl>
    <p class="hint">${esc(t("w.once"))}</p>
    <div class="buttons noprint"><button type="button" id="walkin-print">${esc(t("w.print"))}</button>
      <button type="button" class="secondary" id="walkin-done">${esc(t("w.done"))}</button></div>`;
  handout.hidden = false;
  handout.focus();
  say(t("w.registered", { ref: r.reference }));
  clearTimeout(wipeTimer);
  wipeTimer = setTimeout(wipe, 10 * 60 * 1000); // forgotten on screen: gone after ten minutes
}

function wipe() {
  clearTimeout(wipeTimer);
  handout.innerHTML = "";
  handout.hidden = true;
}

handout.addEventListener("click", (ev) => {
  if (ev.target.id === "walkin-print") print();
  if (ev.target.id === "walkin-done") {
    wipe();
    say(t("w.wiped"));
    form.elements.service.focus();
  }
});
// Leaving the page (or the browser putting it in its back-forward cache) wipes it too.
addEventListener("pagehide", wipe);
