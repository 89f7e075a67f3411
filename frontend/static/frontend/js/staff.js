// Shared start-up for the counter staff pages (the staff counterpart of app.js). Staff pages
// show personal data, so they are not part of the applicant shell and the service worker never
// lists or caches them. Session-authenticated: every POST carries the CSRF token.
import { lang, t as appT, when } from "./i18n.js";
import { bindLanguageToggle, esc } from "./shared.js";
import { WORDS } from "./staff-words.js";

export { esc, when };

// Staff words first, then the applicants' dictionary (field names, status labels). They are
// not merged into i18n.js: that file is in the applicants' offline shell (100 KB budget), and
// a phone's cached copy may be older than this script.
export function t(key, vars = {}) {
  const text = WORDS[lang()][key] ?? WORDS.id[key];
  return text === undefined ? appT(key, vars) : text.replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
}

const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]")?.value ||
  (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

// A failed network call answers like a refusal (status 0), so callers have one path for both.
export async function call(path, { method = "GET", body, headers = {} } = {}) {
  try {
    const res = await fetch(path, { method, credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept-Language": lang(),
                 ...headers },
      body: body && JSON.stringify(body) });
    return { ok: res.ok, status: res.status, data: await res.json().catch(() => ({})) };
  } catch (e) {
    return { ok: false, status: 0, data: { detail: t("staff.err.network") } };
  }
}

export function problem({ status, data }) {
  return data.detail || data.error || t("staff.err.generic", { status });
}

// Success news for screen readers and eyes alike (the page's role=status line).
export function say(text) {
  document.getElementById("staff-msg").textContent = text;
}

// Inputs name the API field they carry in data-field ("reason", "applicant.full_name"); each has
// an error line with id `${input.id}-err` that its aria-describedby already points at.
export function clearErrors(form) {
  for (const input of form.querySelectorAll("[data-field]")) setError(input, "");
  form.querySelector("[data-form-err]").textContent = "";
}

function setError(input, message) {
  document.getElementById(`${input.id}-err`).textContent = message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

// Show what was refused next to the right input (the rest at the form's top) and focus the
// first input in error. `errors` is {field: [message]} as in the API's error body.
export function showErrors(form, errors, general = "") {
  let first = null;
  const leftover = [];
  for (const [field, messages] of Object.entries(errors || {})) {
    const input = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (input) {
      setError(input, messages.join(" "));
      first ??= input;
    } else leftover.push(...messages);
  }
  // The form's line is role=alert: it is read out without moving focus to it.
  form.querySelector("[data-form-err]").textContent = [general, ...leftover].filter(Boolean).join(" ");
  first?.focus();
  return first;
}

export function lengthProblem(input, min, max) {
  const n = input.value.trim().length;
  return n === 0 ? t("v.required") : n < min || n > max ? t("staff.v.length", { min, max }) : "";
}

bindLanguageToggle(t);
