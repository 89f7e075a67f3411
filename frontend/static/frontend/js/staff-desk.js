// The verification desk for one application, opened by its reference (typed, scanned from the
// receipt's QR, or followed from the counter page as #REFERENCE): interview note, documents,
// fee and payment, supervisor sign-off, approve; at pickup the identity check and handover;
// cancel with a reason. Every section shows what the server holds; nothing is kept here.
import { appUrl, call, cleanReference, clearErrors, esc, localize, problem, refusal, rupiah, say, t, when } from "./counter-common.js";
import { mountScanner } from "./qr-scan.js";

const desk = document.getElementById("desk");
const record = document.getElementById("record");
const openForm = document.getElementById("open");
const supervisor = desk.dataset.supervisor === "1";
const me = desk.dataset.user;
let app = null, rec = null;
let scannedRef = ""; // the reference read from a receipt's QR at this desk (pickup wants one)
let latest = 0;

// A labelled control with its hint and error lines; `control` gets the id and aria attributes.
function field({ id, label, hint = "", control }) {
  const describedBy = [hint && `${id}-hint`, `${id}-err`].filter(Boolean).join(" ");
  return `<label for="${id}">${esc(label)}</label>${control(`id="${id}" aria-describedby="${describedBy}"`)}
    ${hint ? `<p class="hint" id="${id}-hint">${esc(hint)}</p>` : ""}<p class="err" id="${id}-err"></p>`;
}
const submitRow = (label) => `<p class="err" role="alert" data-form-err></p>
  <div class="buttons"><button type="submit">${esc(label)}</button></div>`;
const section = (id, title, body) => `<section class="staff card" id="${id}" aria-labelledby="${id}-title">
  <h2 id="${id}-title" tabindex="-1">${esc(title)}</h2>${body}</section>`;

// --- loading ------------------------------------------------------------------------------------
async function open(reference) {
  reference = cleanReference(reference);
  clearErrors(openForm);
  if (!reference) return refusal(openForm, { data: { fields: { reference: [t("v.required")] } } });
  const request = ++latest;
  const [a, r] = await Promise.all([call(appUrl(reference)), call(appUrl(reference, "counter"))]);
  if (request !== latest) return;
  if (!a.ok || !r.ok) {
    app = rec = null;
    record.innerHTML = "";
    return refusal(openForm, a.ok ? r : a);
  }
  app = a.data;
  rec = r.data;
  if (location.hash.slice(1) !== app.reference) history.replaceState(null, "", `#${app.reference}`);
  openForm.elements.reference.value = app.reference;
  render();
}

const reload = () => app && open(app.reference);

// --- rendering ----------------------------------------------------------------------------------
function summary() {
  const appt = rec.appointment?.status === "booked"
    ? `${esc(rec.appointment.date)} ${esc(rec.appointment.slot)} (${esc(t(`c.lane.${rec.appointment.lane}`))})` : "–";
  const ticket = rec.tickets.at(-1);
  return `<section class="card" id="summary" aria-labelledby="summary-ref">
    <p class="ref" id="summary-ref">${esc(app.reference)}</p>
    <p><strong id="summary-name">${esc(app.applicant?.full_name)}</strong></p>
    <dl class="review">
      <dt>${esc(t("status"))}</dt><dd id="summary-status" data-status="${esc(app.status)}">${esc(app.status_label)}</dd>
      <dt>${esc(t("c.desk.service"))}</dt><dd>${esc(t(`c.service.${app.service}`))} · ${esc(t(`c.ptype.${app.passport_type}`))}</dd>
      <dt>${esc(t("c.desk.appointment"))}</dt><dd>${appt}</dd>
      <dt>${esc(t("c.desk.ticket"))}</dt><dd>${ticket ? `${esc(ticket.number)} · ${esc(t(`c.state.${ticket.state}`))}` : "–"}</dd>
    </dl></section>`;
}

function dossier() {
  const d = app.dossier;
  if (!d) return "";
  const files = (d.files || []).map((f) => `<li data-kind="${esc(f.kind)}" data-state="${esc(f.state)}">
    ${esc(t(`c.kind.${f.kind}`))}: <strong>${esc(t(`c.file.${f.state}`))}</strong>${f.refusal_reason ? ` – ${esc(f.refusal_reason)}` : ""}</li>`).join("");
  const missing = (d.missing || []).map((code) => code.split("|").map((k) => t(`c.kind.${k}`)).join(" / "));
  return section("dossier", t("c.desk.dossier"), `<ul class="plain">${files || `<li>${esc(t("c.desk.no_files"))}</li>`}</ul>
    ${missing.length ? `<p class="attention">${esc(t("c.desk.missing", { list: missing.join(", ") }))}</p>` : ""}
    <p><a class="button" id="open-dossier" href="/staff/applications/${encodeURIComponent(app.reference)}/dossier">${esc(t("c.desk.open_dossier"))}</a></p>`);
}

function interview() {
  const last = rec.interview;
  const shown = last ? `<p class="meta" id="interview-last">${esc(t("c.desk.interview_by", { by: last.by, at: when(last.at) }))}</p>
    <blockquote>${esc(last.note)}</blockquote>` : "";
  if (app.status !== "received") return last ? section("interview", t("c.desk.interview"), shown) : "";
  return section("interview", t("c.desk.interview"), `${shown}<form data-kind="interview" novalidate>
    ${field({ id: "interview-note", label: t("c.desk.note"), hint: t("c.desk.note_hint"),
    control: (a) => `<textarea ${a} name="note" data-field="note" rows="3" maxlength="2000" required></textarea>` })}
    <label class="check"><input type="checkbox" id="interview-originals" name="originals_seen" data-field="originals_seen" aria-describedby="interview-originals-err">
      ${esc(t("c.desk.originals"))}</label><p class="err" id="interview-originals-err"></p>
    ${submitRow(last ? t("c.desk.interview_again") : t("c.desk.interview_save"))}</form>`);
}

function payment() {
  const fee = rec.fee;
  const items = fee.items.map((i) => `<tr><td>${esc(i.label)}</td><td class="num">${esc(rupiah(i.amount))}</td></tr>`).join("");
  const table = `<table class="fee"><tbody>${items}<tr class="total"><th scope="row">${esc(t("c.pay.total"))}</th>
    <td class="num" id="fee-total">${esc(rupiah(fee.total))}</td></tr></tbody></table>`;
  const paid = rec.payments.map((p) => `<p class="ok" id="paid">${esc(t("c.pay.paid", {
    amount: rupiah(p.amount), method: t(`c.method.${p.method}`), proof: p.billing_code || p.receipt_no, by: p.clerk }))}</p>
    <p class="meta" id="billing-state" data-state="${esc(p.billing.state)}">${esc(t(`c.billing.${p.billing.state}`))}</p>`).join("");
  if (fee.paid || app.status !== "received") return section("payment", t("c.pay.title"), table + paid);
  return section("payment", t("c.pay.title"), `${table}<form data-kind="payment" novalidate>
    ${field({ id: "pay-method", label: t("c.pay.method"), control: (a) => `<select ${a} name="method" data-field="method">
      ${["cash", "transfer", "card"].map((m) => `<option value="${m}">${esc(t(`c.method.${m}`))}</option>`).join("")}</select>` })}
    <fieldset><legend>${esc(t("c.pay.proof"))}</legend>
      <label class="check"><input type="radio" name="proof" value="billing_code" checked> ${esc(t("c.pay.billing_up"))}</label>
      <label class="check"><input type="radio" name="proof" value="receipt_no"> ${esc(t("c.pay.billing_down"))}</label></fieldset>
    ${field({ id: "pay-billing", label: t("c.pay.billing_code"), control: (a) => `<input ${a} name="billing_code" data-field="billing_code" autocomplete="off">` })}
    ${field({ id: "pay-receipt", label: t("c.pay.receipt_no"), hint: t("c.pay.receipt_hint"), control: (a) => `<input ${a} name="receipt_no" data-field="receipt_no" autocomplete="off">` })}
    ${submitRow(t("c.pay.record", { amount: rupiah(fee.total) }))}</form>`);
}

function signoff() {
  if (!rec.requires_signoff && !rec.signoffs.length) return "";
  const list = rec.signoffs.map((s) => `<li>${esc(t("c.sign.by", { by: s.by, at: when(s.at) }))}${s.note ? ` – ${esc(s.note)}` : ""}</li>`).join("");
  const can = supervisor && app.status === "received" && !rec.signoffs.some((s) => s.by === me);
  return section("signoff", t("c.sign.title"), `<ul class="plain" id="signoffs">${list || `<li>${esc(t("c.sign.none"))}</li>`}</ul>
    ${can ? `<form data-kind="signoff" novalidate>${field({ id: "signoff-note", label: t("c.sign.note"),
      control: (a) => `<input ${a} name="note" data-field="note" maxlength="300" autocomplete="off">` })}${submitRow(t("c.sign.submit"))}</form>` : ""}`);
}

function approval() {
  if (app.status !== "received") return "";
  const blockers = rec.readiness.blockers.map((b) => `<li data-code="${esc(b.code)}">${esc(b.detail || t(`c.block.${b.code}`))}</li>`).join("");
  return section("approve", t("c.approve.title"), `${blockers ? `<ul class="attention" id="blockers">${blockers}</ul>` : `<p class="ok">${esc(t("c.approve.ready"))}</p>`}
    <form data-kind="approve" novalidate>${submitRow(t("staff.act.approve"))}</form>`);
}

function pickupForm() {
  if (rec.handover) {
    const h = rec.handover;
    return section("pickup", t("c.pick.title"), `<p class="ok" id="handover">${esc(t(`c.pick.done_${h.recipient}`, { by: h.by, at: when(h.at), letter: h.letter_no || "" }))}</p>`);
  }
  if (app.status !== "ready_for_pickup") return "";
  const qr = scannedRef === app.reference;
  return section("pickup", t("c.pick.title"), `<p class="${qr ? "ok" : "meta"}" id="pickup-qr">${esc(t(qr ? "c.pick.qr_ok" : "c.pick.qr_hint"))}</p>
    <form data-kind="pickup" novalidate>
    ${field({ id: "pickup-nik", label: t("c.pick.nik"), hint: t("c.pick.nik_hint"),
    control: (a) => `<input ${a} name="nik" data-field="nik" inputmode="numeric" maxlength="16" autocomplete="off" spellcheck="false">` })}
    <fieldset><legend>${esc(t("c.pick.recipient"))}</legend>
      <label class="check"><input type="radio" name="recipient" value="applicant" checked> ${esc(t("c.pick.applicant"))}</label>
      <label class="check"><input type="radio" name="recipient" value="proxy"> ${esc(t("c.pick.proxy"))}</label></fieldset>
    <div id="proxy-fields" hidden>
    ${field({ id: "pickup-proxy-name", label: t("c.pick.proxy_name"), control: (a) => `<input ${a} name="proxy_name" data-field="proxy_name" autocomplete="off">` })}
    ${field({ id: "pickup-proxy-id", label: t("c.pick.proxy_id"), control: (a) => `<input ${a} name="proxy_id_number" data-field="proxy_id_number" autocomplete="off">` })}
    ${field({ id: "pickup-letter", label: t("c.pick.letter"), control: (a) => `<input ${a} name="letter_no" data-field="letter_no" autocomplete="off">` })}
    </div>${submitRow(t("c.pick.submit"))}</form>`);
}

function appointmentForm() {
  if (app.status !== "received") return "";
  const a = rec.appointment;
  const now = a?.status === "booked" ? t("c.appt.now", { date: a.date, slot: a.slot }) : t("c.appt.none");
  return section("appointment", t("c.appt.title"), `<p id="appt-now">${esc(now)}</p>
    <details><summary>${esc(t("c.appt.open"))}</summary><form data-kind="appointment" novalidate>
    ${field({ id: "appt-slot", label: t("c.appt.slot"), control: (at) => `<select ${at} name="slot" data-field="slot"><option value="">${esc(t("c.appt.loading"))}</option></select>` })}
    ${field({ id: "appt-reason", label: t("c.appt.reason"), hint: t("staff.reject.hint"),
    control: (at) => `<input ${at} name="reason" data-field="reason" maxlength="300" autocomplete="off">` })}
    <label class="check"><input type="checkbox" name="release" id="appt-release"> ${esc(t("c.appt.release"))}</label>
    ${submitRow(t("c.appt.submit"))}</form></details>`);
}

// The free slots of the applicant's lane, for the reschedule form (the public calendar).
async function fillSlots() {
  const select = document.getElementById("appt-slot");
  if (!select) return;
  const lane = rec.appointment?.lane || (app.service === "express" ? "express" : "regular");
  const res = await call(`/api/v1/offices/${encodeURIComponent(app.office?.code || desk.dataset.office)}/slots?lane=${lane}&days=14`);
  if (!res.ok) return;
  select.innerHTML = res.data.days.filter((d) => !d.closed).flatMap((d) => d.slots.filter((x) => x.free > 0)
    .map((x) => `<option value="${esc(`${d.date} ${x.slot}`)}">${esc(d.date)} ${esc(x.slot)} (${esc(t("o.free", { n: x.free }))})</option>`)).join("");
}

function cancelForm() {
  if (!["received", "queued_for_printing", "needs_attention"].includes(app.status)) return "";
  return section("cancel", t("c.cancel.title"), `<details><summary>${esc(t("c.cancel.open"))}</summary><form data-kind="cancel" novalidate>
    ${field({ id: "cancel-reason", label: t("c.cancel.reason"), hint: t("staff.reject.hint"),
    control: (a) => `<textarea ${a} name="reason" data-field="reason" rows="2" maxlength="300" required></textarea>` })}
    ${submitRow(t("c.cancel.submit"))}</form></details>`);
}

function audit() {
  if (!rec.audit.length) return "";
  return section("audit", t("c.audit.title"), `<ol class="timeline">${rec.audit.map((e) =>
    `<li>${esc(t(`c.audit.${e.action}`) === `c.audit.${e.action}` ? e.action : t(`c.audit.${e.action}`))} · ${esc(e.by || "–")}
    <time datetime="${esc(e.at)}">${esc(when(e.at))}</time>${e.note ? `<span class="meta">${esc(e.note)}</span>` : ""}</li>`).join("")}</ol>`);
}

function render() {
  if (!app) return;
  record.innerHTML = summary() + dossier() + interview() + payment() + signoff() + approval() +
    pickupForm() + appointmentForm() + cancelForm() + audit();
  fillSlots();
}

// --- acting ---------------------------------------------------------------------------------------
const BODIES = {
  interview: (f) => ({ note: f.elements.note.value.trim(), originals_seen: f.elements.originals_seen.checked }),
  payment: (f) => {
    const proof = f.elements.proof.value;
    return { method: f.elements.method.value, [proof]: f.elements[proof].value.trim(), amount: rec.fee.total };
  },
  signoff: (f) => (f.elements.note.value.trim() ? { note: f.elements.note.value.trim() } : {}),
  approve: () => undefined,
  pickup: (f) => {
    const body = { nik: f.elements.nik.value.replace(/\s/g, ""), recipient: f.elements.recipient.value };
    if (body.recipient === "proxy") {
      for (const k of ["proxy_name", "proxy_id_number", "letter_no"]) body[k] = f.elements[k].value.trim();
    }
    return body;
  },
  cancel: (f) => ({ reason: f.elements.reason.value.trim() }),
  appointment: (f) => {
    const [date, slot] = f.elements.slot.value.split(" ");
    return f.elements.release.checked ? { reason: f.elements.reason.value.trim() }
      : { date, slot, reason: f.elements.reason.value.trim() };
  },
};

const ENDPOINTS = { payment: "payments" };

// What the browser can tell before asking (the server says the rest, on the same inputs).
function check(kind, form, body) {
  const errors = {};
  if (kind === "interview" && body.note.length < 3) errors.note = [t("staff.v.length", { min: 3, max: 2000 })];
  if (kind === "interview" && !body.originals_seen) errors.originals_seen = [t("c.desk.originals_needed")];
  if (kind === "payment") {
    const proof = form.elements.proof.value;
    if (!body[proof]) errors[proof] = [t("v.required")];
  }
  if (kind === "pickup" && !/^\d{16}$/.test(body.nik)) errors.nik = [t("c.pick.nik_format")];
  if (kind === "appointment" && !body.reason) errors.reason = [t("staff.v.length", { min: 3, max: 300 })];
  if (kind === "appointment" && "slot" in body && !body.slot) errors.slot = [t("v.required")];
  if (kind === "cancel" && body.reason.length < 3) errors.reason = [t("staff.v.length", { min: 3, max: 300 })];
  return errors;
}

record.addEventListener("change", (ev) => {
  if (ev.target.name === "recipient") document.getElementById("proxy-fields").hidden = ev.target.value !== "proxy";
});

record.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target, kind = form.dataset.kind;
  clearErrors(form);
  const body = BODIES[kind](form);
  const errors = body ? check(kind, form, body) : {};
  if (Object.keys(errors).length) return refusal(form, { data: { fields: errors } });
  const submit = form.querySelector("[type=submit]");
  submit.disabled = true;
  const method = kind !== "appointment" ? "POST" : "date" in body ? "PUT" : "DELETE";
  const res = await call(appUrl(app.reference, ENDPOINTS[kind] || kind), { method, body });
  submit.disabled = false;
  if (kind === "pickup") form.elements.nik.value = ""; // the NIK is not left on the screen
  if (!res.ok) {
    if (res.data.blockers) {
      return refusal(form, { data: { detail: res.data.blockers.map((b) => b.detail || t(`c.block.${b.code}`)).join(" ") } });
    }
    const msg = res.data.note ? `${problem(res)} ${res.data.note}` : problem(res);
    return refusal(form, { data: { fields: res.data.fields, detail: msg } });
  }
  say(t(`c.done.${kind}`, { ref: app.reference }));
  await reload();
  document.getElementById(`${kind}-title`)?.focus() ?? document.getElementById("summary-ref")?.focus();
});

openForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  open(openForm.elements.reference.value);
});

// --- scanning the receipt ---------------------------------------------------------------------------
mountScanner({
  words: t,
  onReference: (reference) => {
    scannedRef = reference;
    open(reference);
  },
});
addEventListener("hashchange", () => { if (location.hash.length > 1) open(decodeURIComponent(location.hash.slice(1))); });
document.addEventListener("langchange", () => { localize(); reload(); });

if (location.hash.length > 1) open(decodeURIComponent(location.hash.slice(1)));
