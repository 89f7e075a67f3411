// Apply: a four-step form whose draft lives in IndexedDB from the first keystroke, with its
// Idempotency-Key made at creation. "Send" only queues it; the outbox sends it, and this page
// says "waiting to send" until the office server has acknowledged it.
import { onOutboxChange, outbox, prefetchReceipt, replay, requestSync } from "./app.js";
import { offices } from "./api.js";
import { mountDocuments, moveFiles, requirements, sendFiles } from "./dossier.js";
import { t } from "./i18n.js";
import { esc, whyWaiting } from "./shared.js";
import { validateApplication } from "./validate.js";

const form = document.getElementById("apply");
const steps = [...form.querySelectorAll("fieldset[data-step]")];
const back = document.getElementById("back"), next = document.getElementById("next");
const outcome = document.getElementById("outcome");
let step = 0, draft = null, lastErrors = {}, rules = null;
const sentDocs = document.getElementById("sent-docs");

const fieldId = (path) => path.split(".").pop();
const stepOf = (path) => steps.findIndex((s) => s.querySelector(`[name="${CSS.escape(path)}"]`));

function readBody() {
  const body = { applicant: {} };
  for (const el of form.elements) {
    if (!el.name || (el.type === "radio" && !el.checked)) continue;
    const value = el.value.trim();
    if (el.name.startsWith("applicant.")) {
      if (value || el.name !== "applicant.email") body.applicant[fieldId(el.name)] = value;
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
    if (el.type === "radio") el.checked = el.value === value; else el.value = value;
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
    if (!el.name || !el.id && el.type !== "radio" || (el.type === "radio" && !el.checked)) continue;
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
  if (draft && draft.state !== "queued") await outbox.put("drafts", { ...draft, body: readBody() });
}

async function loadDraft() {
  const wanted = new URLSearchParams(location.search).get("draft");
  const drafts = await outbox.all("drafts");
  draft = drafts.find((d) => d.key === wanted) || drafts.find((d) => d.state === "editing");
  if (!draft) {
    draft = { key: outbox.newKey(), state: "editing", body: {}, created_at: new Date().toISOString() };
    await outbox.put("drafts", draft);
  }
  fill(draft.body);
  if (draft.state === "queued" || draft.state === "failed") render();
}

// Reflect the draft's fate: waiting, refused (errors on the fields), or acknowledged.
async function render() {
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
  const formErr = document.getElementById("form-err");
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
    // 409 "active application" is about the NIK: say so on that field.
    if (e.error === "active_application_exists") errors["applicant.nik"] = "active";
    const first = showErrors(errors);
    formErr.textContent = e.error === "active_application_exists" ? t("err.active")
      : e.error === "service_unavailable" ? t("err.express_closed")
      : Object.keys(errors).length ? "" : t("err.generic", { detail: e.detail || e.error });
    if (first) focusFirst(first);
  }
}

async function submit() {
  const body = readBody();
  const first = showErrors(validateApplication(body));
  if (first) return focusFirst(first);
  // A refused draft that is corrected is a new submission: it gets a new key, or the server
  // would rightly answer 422 (same key, different body).
  const key = draft.state === "failed" ? outbox.newKey() : draft.key;
  if (key !== draft.key) {
    await outbox.del("drafts", draft.key);
    await moveFiles(draft.key, key);  // the documents follow the corrected application
  }
  draft = { ...draft, key, body, state: "queued", error: null, attempts: 0, next_try_at: 0 };
  await outbox.put("drafts", draft);
  history.replaceState(null, "", "/");
  await render();
  requestSync();
  await replay(true);
  render();
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (step < steps.length - 1) {
    const first = showErrors(validateApplication(readBody()), step);
    if (first) return first.input.focus();
    show(step + 1);
    steps[step].querySelector("input, select, textarea")?.focus();
  } else submit();
});
back.addEventListener("click", () => show(step - 1));
form.addEventListener("input", save);
form.addEventListener("change", save);
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
const drawSent = mountDocuments(sentDocs, () => draft?.key, documentGroups);
form.elements.application_type.addEventListener("change", drawDocuments);

const officeSelect = document.getElementById("office");
for (const o of await offices()) officeSelect.add(new Option(`${o.name} (${o.code})`, o.code));
show(0);
await loadDraft();
drawDocuments();
drawSent();
if (!draft.body.office && officeSelect.options.length) {
  officeSelect.value = localStorage.getItem("office") || officeSelect.options[0].value;
}
