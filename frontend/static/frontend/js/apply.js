// Apply: a five-step form (the fourth: documents, see dossier.js) whose draft lives in IndexedDB from the first keystroke, with its
// Idempotency-Key made at creation and kept through corrections. "Send" only queues it; the
// outbox sends it, and this page says "waiting to send" until the office server has
// acknowledged it. Before a fresh form, the page says what is already waiting on this phone.
import { askDiscard, discardDraft, onOutboxChange, outbox, prefetchReceipt, refusalText, replay,
  requestSync, unfixable } from "./app.js";
import { offices } from "./api.js";
import { mountDocuments, requirements, sendFiles } from "./dossier.js";
import { t } from "./i18n.js";
import { esc, whyWaiting } from "./shared.js";
import { validateApplication } from "./validate.js";

const form = document.getElementById("apply");
const steps = [...form.querySelectorAll("fieldset[data-step]")];
const back = document.getElementById("back"), next = document.getElementById("next");
const outcome = document.getElementById("outcome"), officeSelect = document.getElementById("office");
const onPhone = document.getElementById("on-phone"), formErr = document.getElementById("form-err");
const refused = document.getElementById("refused"), confirmBox = document.getElementById("discard-confirm");
let step = 0, draft = null, lastErrors = {}, rules = null;
const sentDocs = document.getElementById("sent-docs");
let sending = false;  // Send pressed and not yet settled: the button stays disabled
let lastRefusal = null;  // the refusal already shown (re-renders must not move the focus again)
let listed = null;  // keys shown in the "on this phone" notice, while it is open
let others = [];  // drafts other than this form's, waiting or refused (see loadOthers)

const fieldId = (path) => path.split(".").pop();
const stepOf = (path) => steps.findIndex((s) => s.querySelector(`[name="${CSS.escape(path)}"]`));

function readBody() {
  const body = { applicant: {} };
  for (const el of form.elements) {
    if (!el.name || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) continue;
    const value = el.value.trim();
    if (el.name.startsWith("applicant.")) {
      if (value || el.name !== "applicant.email") body.applicant[fieldId(el.name)] = value;
    } else if (el.name === "appointment") {  // the slot picker's choice (slots.js), as JSON
      if (value) body.appointment = JSON.parse(value);
    } else if (value || el.name !== "appointment_date") body[el.name] = value;
  }
  if (body.applicant.nik) body.applicant.nik = body.applicant.nik.replace(/\s/g, "");
  return body;
}

function fill(body) {
  for (const el of form.elements) {
    if (!el.name) continue;
    const value = el.name.startsWith("applicant.") ? body.applicant?.[fieldId(el.name)] : body[el.name];
    if (value === undefined) continue;
    if (el.name === "appointment") el.value = value ? JSON.stringify(value) : "";
    else if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === value;
    else el.value = value;
  }
}

// Show errors {path: code or message}; only those of the visible step when `onlyStep` is set.
function showErrors(errors, onlyStep = null) {
  lastErrors = errors;
  for (const p of form.querySelectorAll(".err[id$='-err']")) p.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  let first = null;
  for (const [path, code] of Object.entries(errors)) {
    const s = stepOf(path);
    if (onlyStep !== null && s !== onlyStep) continue;
    const id = fieldId(path), input = document.getElementById(id), out = document.getElementById(`${id}-err`);
    if (!out || !input) continue;
    out.textContent = t(`v.${code}`) === `v.${code}` ? code : t(`v.${code}`);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${id}-err`);
    first ??= { s, input };
  }
  return first;
}

function show(n) {
  step = n;
  steps.forEach((s, i) => { s.hidden = i !== n; });
  back.hidden = n === 0;
  next.textContent = t(n === steps.length - 1 ? "send" : "next");
  next.dataset.i18n = n === steps.length - 1 ? "send" : "next";
  form.querySelectorAll(".steps li").forEach((li, i) => li.classList.toggle("on", i <= n));
  if (n === steps.length - 1) review();
}

function review() {
  const rows = [];
  for (const el of form.elements) {
    if (!el.name || !el.id && el.type !== "radio" || (el.type === "radio" && !el.checked) ||
      el.type === "checkbox") continue;
    const label = el.type === "radio" ? t("f.sex") : form.querySelector(`label[for="${el.id}"]`)?.textContent;
    const text = el.tagName === "SELECT" ? el.selectedOptions[0]?.textContent : el.type === "radio"
      ? t(`sex.${el.value}`) : el.value;
    if (text) rows.push(`<dt>${esc(label)}</dt><dd>${esc(text)}</dd>`);
  }
  document.getElementById("review").innerHTML = rows.join("");
}

function focusFirst(first) {
  if (!first) return;
  show(first.s);
  first.input.focus();
}

async function save() {
  if (!draft) return;
  const body = readBody();
  // Never over a queued draft: what is on its way is what the applicant saw when pressing Send.
  const saved = await outbox.update("drafts", draft.key, (current) =>
    current && current.state !== "queued" && { ...current, body });
  if (saved) draft = saved;
}

async function openDraft(wanted) {
  const drafts = await outbox.all("drafts");
  draft = drafts.find((d) => d.key === wanted) || drafts.find((d) => d.state === "editing");
  if (!draft) {
    draft = { key: outbox.newKey(), state: "editing", body: {}, created_at: new Date().toISOString() };
    await outbox.put("drafts", draft);
  }
  fill(draft.body);
  if (draft.state === "queued" || draft.state === "failed") await render();
  document.dispatchEvent(new CustomEvent("dossierchange"));  // this draft's documents
}

// --- What is already on this phone ---------------------------------------------------------
// Drafts other than this form's that are waiting to be sent or were refused. Kept in memory
// (reloaded on every render and before Send) so moving between steps needs no wait.
async function loadOthers() {
  others = (await outbox.all("drafts")).filter((d) => d.key !== draft?.key &&
    (d.state === "queued" || d.state === "failed"));
  return others;
}

// A second application for a NIK this phone already holds would be refused by the office once
// sent (409): caught here, offline, before it is queued.
function nikOnPhone(body) {
  const nik = body.applicant?.nik;
  return nik ? others.find((d) => d.body?.applicant?.nik === nik) : undefined;
}

function onPhoneItem(key, drafts, apps) {
  const d = drafts.find((x) => x.key === key);
  if (!d) {  // acknowledged since the notice opened (or deleted on another page)
    const app = apps.find((a) => a.key === key);
    return app ? `<li class="acknowledged"><strong class="ref">${esc(app.reference)}</strong>
      ${esc(t("acknowledged"))}. <a href="/receipt#${encodeURIComponent(app.reference)}">${esc(t("see_receipt"))}</a></li>` : "";
  }
  const name = `<strong>${esc(d.body?.applicant?.full_name)}</strong>`;
  if (d.state === "failed") {
    const link = unfixable(d.error) ? `<a href="/mine">${esc(t("onphone.follow"))}</a>`
      : `<a href="/?draft=${encodeURIComponent(d.key)}">${esc(t("fix"))}</a>`;
    return `<li class="failed">${name} ${esc(t(unfixable(d.error) ? "cannot_send" : "needs_fix"))}. ${link}</li>`;
  }
  return `<li class="waiting">${name} <span>${esc(t("waiting"))}: ${esc(whyWaiting(d))}</span>
    <a href="/mine">${esc(t("onphone.follow"))}</a></li>`;
}

async function renderOnPhone() {
  if (!listed) return;
  const drafts = others, apps = await outbox.all("applications");
  for (const d of drafts) listed.add(d.key);
  onPhone.innerHTML = `<h2 id="on-phone-title">${esc(t("onphone.title"))}</h2>
    <p class="hint">${esc(t("onphone.hint"))}</p>
    <ul class="on-phone">${[...listed].map((key) => onPhoneItem(key, drafts, apps)).join("")}</ul>
    <div class="buttons"><button type="button" id="new-application" class="secondary">${esc(t("onphone.new"))}</button></div>`;
}

async function showOnPhone() {
  listed = new Set();
  await renderOnPhone();
  form.hidden = true;
  onPhone.hidden = false;
}

onPhone.addEventListener("click", (ev) => {
  if (!ev.target.closest("#new-application")) return;
  listed = null;
  onPhone.hidden = true;
  form.hidden = false;
  show(0);
  officeSelect.focus();
});

// --- The draft's fate: waiting, refused (errors on the fields), or acknowledged --------------
async function render() {
  await loadOthers();
  renderOnPhone();
  const current = await outbox.get("drafts", draft.key);
  if (!current) {
    const app = (await outbox.all("applications")).find((a) => a.key === draft.key);
    if (!app) return;
    form.hidden = true;
    outcome.hidden = false;
    outcome.innerHTML = `<h2>${esc(t("acknowledged"))}</h2>
      <p>${esc(t("reference"))}: <strong class="ref" id="reference">${esc(app.reference)}</strong></p>
      <p>${esc(t("access_code"))}: <strong class="ref">${esc(app.access_code)}</strong></p>
      <p><a class="button" href="/receipt#${encodeURIComponent(app.reference)}">${esc(t("see_receipt"))}</a></p>`;
    outcome.focus();
    sentDocs.hidden = false;
    prefetchReceipt();
    sendFiles();
    return;
  }
  draft = current;
  refused.hidden = current.state !== "failed";
  if (current.state === "queued") {
    form.hidden = true;
    outcome.hidden = false;
    sentDocs.hidden = false;
    outcome.innerHTML = `<h2 id="waiting">${esc(t("waiting"))}</h2><p id="why">${esc(whyWaiting(current))}</p>`;
  } else if (current.state === "failed") {
    form.hidden = false;
    outcome.hidden = true;
    sentDocs.hidden = true;
    const e = current.error, fields = Object.keys(e.field_codes || {}).length ? e.field_codes : e.fields;
    const errors = Object.fromEntries(Object.entries(fields || {}).map(([p, v]) => [p, v[0]]));
    // Refusals about one field are said on that field.
    if (e.error === "active_application_exists") errors["applicant.nik"] = "active";
    if (e.error === "service_unavailable") errors.service = "express_closed";
    const first = showErrors(errors);
    const explained = unfixable(e) || e.error === "service_unavailable";
    formErr.textContent = explained ? refusalText(e)
      : Object.keys(errors).length ? "" : t("err.generic", { detail: e.detail || e.error });
    document.getElementById("track-other").hidden = !unfixable(e);
    const refusal = JSON.stringify(e);
    if (first && refusal !== lastRefusal) focusFirst(first);
    lastRefusal = refusal;
  }
}

// Errors of the body (of one step, when `onlyStep` is set), shown; the first one, if any.
function check(body, onlyStep = null) {
  const errors = validateApplication(body);
  const twin = !errors["applicant.nik"] && nikOnPhone(body);
  if (twin) errors["applicant.nik"] = "nik_on_phone";
  const first = showErrors(errors, onlyStep);
  if (twin && (onlyStep === null || onlyStep === stepOf("applicant.nik"))) {
    formErr.innerHTML = `${esc(t("err.nik_on_phone"))} <a href="/mine">${esc(t("onphone.follow"))}</a>`;
  }
  return first;
}

async function submit() {
  if (sending) return;
  sending = true;
  next.disabled = true;  // a second tap must not queue the draft again
  try {
    const body = readBody();
    await loadOthers();
    const first = check(body);
    if (first) return focusFirst(first);
    // The same key, corrected or not: one draft is one application (see outbox.js).
    const queued = await outbox.update("drafts", draft.key, (current) =>
      current?.state !== "queued" && { ...(current || draft), body, state: "queued", error: null,
        reason: null, attempts: 0, next_try_at: 0 });
    if (queued) draft = queued;
    history.replaceState(null, "", "/");
    await render();
    requestSync();
    await replay(true);
    await render();
  } finally {
    sending = false;
    next.disabled = false;
  }
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (step === steps.length - 1) return submit();
  const first = check(readBody(), step);
  if (first) return first.input.focus();
  show(step + 1);
  steps[step].querySelector("input, select, textarea")?.focus();
});
back.addEventListener("click", () => show(step - 1));
form.addEventListener("input", save);
form.addEventListener("change", save);

document.getElementById("discard").addEventListener("click", async () => {
  const yes = await askDiscard(confirmBox);
  if (!yes) return document.getElementById("discard").focus();
  await discardDraft(draft.key);
  form.reset();
  defaultOffice();
  showErrors({});
  refused.hidden = true;
  lastRefusal = null;
  history.replaceState(null, "", "/");
  await openDraft(null);
  await loadOthers();
  show(0);
  document.getElementById("apply-msg").textContent = t("discarded");
  officeSelect.focus();
});

document.addEventListener("langchange", () => { show(step); showErrors(lastErrors); if (draft) render(); });
onOutboxChange(render);
addEventListener("online", render);
addEventListener("offline", render);

// The documents the chosen application type needs (the office's rules, last known offline).
const documentGroups = async () => {
  rules ??= await requirements();
  return rules[form.elements.application_type.value] || [];
};
const drawDocuments = mountDocuments(document.getElementById("documents"), () => draft?.key, documentGroups);
mountDocuments(sentDocs, () => draft?.key, documentGroups);
form.elements.application_type.addEventListener("change", drawDocuments);

// The office last looked at on the board, else the first. Set as soon as the list is there, so
// it never overrides a choice made (or a draft restored) after that.
function defaultOffice() {
  if (officeSelect.options.length) officeSelect.value = localStorage.getItem("office") || officeSelect.options[0].value;
}

for (const o of await offices()) officeSelect.add(new Option(`${o.name} (${o.code})`, o.code));
defaultOffice();
show(0);
const wanted = new URLSearchParams(location.search).get("draft");
await openDraft(wanted);
if (!wanted && draft.state === "editing" && (await loadOthers()).length) await showOnPhone();
// The form is its draft's now: a step taken before this (the offices are listed a moment
// earlier) was undone by show(0) and the draft's fill. Tests wait for it.
form.dataset.ready = "true";
