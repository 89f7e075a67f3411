// The office's applications at the counter: filter by status, search by reference or NIK, and
// act. Approve and collect act at once; reject and resubmit open a small form under the row,
// which sends nothing until it is valid and shows the server's refusals next to the inputs.
import { esc } from "./shared.js";
import { call, clearErrors, lengthProblem, problem, say, showErrors, t, when } from "./staff.js";

const ACTIONS = { received: ["approve", "reject"], ready_for_pickup: ["collect"],
  needs_attention: ["resubmit", "reject"] };
const WITH_FORM = new Set(["reject", "resubmit"]);
// What staff may correct after central refused the data; NIK, sex and birth date are checked
// against each other and against the KTP, so they are not changed at this desk.
const FIXABLE = ["full_name", "place_of_birth", "address", "mother_name"];

const rows = document.getElementById("rows");
const filter = document.getElementById("filter");
const actionErr = document.getElementById("action-err");
let listed = new Map(); // reference -> the application as last listed
let latest = 0; // the newest list request: an older answer arriving late must not overwrite it

const rowOf = (reference) => rows.querySelector(`tr[data-reference="${CSS.escape(reference)}"]`);
const actionUrl = (reference, action) =>
  `/api/v1/applications/${encodeURIComponent(reference)}/${action}`;

function rowHtml(a) {
  const attention = (a.status === "needs_attention" && a.attention_reason
    ? `<p class="attention">${esc(t("staff.attention", { reason: a.attention_reason }))}</p>` : "") +
    // Someone is guessing this application's access code: lookups are paused until then.
    (a.lookups_locked_until
      ? `<p class="attention" data-lookups-locked>${esc(t("staff.lookups.locked", { at: when(a.lookups_locked_until) }))}</p>` : "");
  const buttons = (ACTIONS[a.status] || []).map((act) => {
    const name = t(`staff.act.${act}`);
    const expands = WITH_FORM.has(act) ? ' aria-expanded="false" aria-controls="panel"' : "";
    return `<button type="button" data-action="${act}"${expands} aria-label="${esc(`${name} ${a.reference}`)}">${esc(name)}</button>`;
  });
  // The dossier (documents to check, photo and signature to take) has a page of its own.
  if (a.status === "received" || a.status === "needs_attention") {
    buttons.unshift(`<a class="button secondary" data-dossier href="/staff/applications/${encodeURIComponent(a.reference)}/dossier">${esc(t("staff.act.dossier"))}</a>`);
  }
  return `<tr role="row" data-reference="${esc(a.reference)}">
    <th role="rowheader" scope="row" class="ref" tabindex="-1">${esc(a.reference)}</th>
    <td role="cell" class="name">${esc(a.applicant?.full_name)}</td>
    <td role="cell" data-status="${esc(a.status)}">${esc(a.status_label)}${attention}</td>
    <td role="cell" class="actions">${buttons.join("")}</td></tr>`;
}

async function load() {
  const params = new URLSearchParams();
  const headers = {};
  for (const [name, value] of new FormData(filter)) {
    if (!value.trim()) continue;
    // The search term may be a NIK: it travels in a header, never in the URL (URLs get logged).
    if (name === "q") headers["X-Search"] = value.trim();
    else params.set(name, value.trim());
  }
  const request = ++latest;
  const res = await call(`/api/v1/applications?${params}`, { headers });
  if (request !== latest) return;
  actionErr.textContent = res.ok ? "" : problem(res);
  if (!res.ok) return;
  const { results, count } = res.data;
  listed = new Map(results.map((a) => [a.reference, a]));
  rows.innerHTML = results.map(rowHtml).join("") ||
    `<tr role="row"><td role="cell" colspan="4">${esc(t("staff.apps.empty"))}</td></tr>`;
  document.getElementById("count").textContent =
    count > results.length ? t("staff.shown", { shown: results.length, count }) : "";
}

// A labelled control with its hint and error lines; `control` gets the id and aria attributes.
function field({ id, label, hint = "", control }) {
  const describedBy = [hint && `${id}-hint`, `${id}-err`].filter(Boolean).join(" ");
  return `<label for="${id}">${esc(label)}</label>${control(`id="${id}" aria-describedby="${describedBy}"`)}
    ${hint ? `<p class="hint" id="${id}-hint">${esc(hint)}</p>` : ""}<p class="err" id="${id}-err"></p>`;
}

const buttons = (submit) => `<p class="err" role="alert" data-form-err></p>
  <div class="buttons"><button type="submit">${esc(submit)}</button>
  <button type="button" class="secondary" data-cancel>${esc(t("staff.cancel"))}</button></div>`;

function rejectForm(a) {
  return `<form data-kind="reject" novalidate>${field({
    id: "reject-reason", label: t("staff.reject.label", { ref: a.reference }), hint: t("staff.reject.hint"),
    control: (attrs) => `<textarea ${attrs} name="reason" data-field="reason" rows="3" maxlength="300" required></textarea>`,
  })}${buttons(t("staff.reject.submit"))}</form>`;
}

function fixForm(a) {
  const inputs = FIXABLE.map((name) => field({
    id: `fix-${name}`, label: t(`f.${name}`),
    control: (attrs) => `<input ${attrs} name="${name}" data-field="applicant.${name}" value="${esc(a.applicant?.[name])}" autocomplete="off" required>`,
  }));
  return `<form data-kind="resubmit" novalidate><fieldset aria-describedby="fix-hint">
    <legend>${esc(t("staff.fix.legend", { ref: a.reference }))}</legend>
    <p class="hint" id="fix-hint">${esc(t("staff.fix.hint"))}</p>${inputs.join("")}</fieldset>
    ${buttons(t("staff.fix.submit"))}</form>`;
}

function closePanel({ returnFocus }) {
  const panel = document.getElementById("panel");
  if (!panel) return;
  panel.remove();
  const opener = rowOf(panel.dataset.for)?.querySelector(`[data-action="${panel.dataset.kind}"]`);
  opener?.setAttribute("aria-expanded", "false");
  if (returnFocus) opener?.focus();
}

function togglePanel(row, kind) {
  const open = document.getElementById("panel");
  const same = open && open.dataset.for === row.dataset.reference && open.dataset.kind === kind;
  closePanel({ returnFocus: same });
  if (same) return;
  const application = listed.get(row.dataset.reference);
  const panel = document.createElement("tr");
  Object.assign(panel, { id: "panel", className: "panel" });
  panel.setAttribute("role", "row");
  Object.assign(panel.dataset, { for: application.reference, kind });
  panel.innerHTML = `<td role="cell" colspan="4">${kind === "reject" ? rejectForm(application) : fixForm(application)}</td>`;
  row.after(panel);
  row.querySelector(`[data-action="${kind}"]`).setAttribute("aria-expanded", "true");
  panel.querySelector("[data-field]").focus();
}

// The request body, or the errors that keep it from being sent.
function rejectBody(form) {
  const reason = form.elements.reason;
  const message = lengthProblem(reason, 3, 300);
  return message ? { errors: { reason: [message] } } : { body: { reason: reason.value.trim() } };
}

function resubmitBody(form, application) {
  const corrections = {}, errors = {};
  for (const name of FIXABLE) {
    const value = form.elements[name].value.trim();
    if (!value) errors[`applicant.${name}`] = [t("v.required")];
    else if (value !== (application.applicant?.[name] ?? "").trim()) corrections[name] = value;
  }
  if (Object.keys(errors).length) return { errors };
  // Only what changed: the server merges it with the stored record and validates the whole.
  return { body: Object.keys(corrections).length ? { applicant: corrections } : {} };
}

async function done(action, reference) {
  say(t(`staff.done.${action}`, { ref: reference }));
  await load();
  // Keep the keyboard where the work was: on the row, if the filter still shows it.
  (rowOf(reference)?.querySelector("th") || document.querySelector("main h1")).focus();
}

rows.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button");
  if (!button || button.type === "submit") return;
  if (button.hasAttribute("data-cancel")) return closePanel({ returnFocus: true });
  const row = button.closest("tr"), action = button.dataset.action;
  actionErr.textContent = "";
  if (WITH_FORM.has(action)) return togglePanel(row, action);
  button.disabled = true;
  const res = await call(actionUrl(row.dataset.reference, action), { method: "POST" });
  if (res.ok) return done(action, row.dataset.reference);
  actionErr.textContent = problem(res);
  button.disabled = false;
});

rows.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") closePanel({ returnFocus: true });
});

rows.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target, kind = form.dataset.kind;
  const reference = document.getElementById("panel").dataset.for;
  clearErrors(form);
  const { body, errors } = kind === "reject" ? rejectBody(form) : resubmitBody(form, listed.get(reference));
  if (errors) return showErrors(form, errors);
  const submit = form.querySelector("[type=submit]");
  submit.disabled = true;
  const res = await call(actionUrl(reference, kind), { method: "POST", body });
  submit.disabled = false;
  if (res.ok) return done(kind, reference);
  showErrors(form, res.data.fields, res.data.fields ? "" : problem(res));
});

filter.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
filter.elements.status.addEventListener("change", load);
document.addEventListener("langchange", load);
load();
