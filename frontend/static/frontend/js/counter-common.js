// Shared by the counter's-day staff pages: their words (looked up before the console's), the
// office they act for, and money and ticket formatting. Staff pages only: never in the
// applicants' shell.
import { lang } from "./i18n.js";
import { problem, showErrors, t as staffT } from "./staff.js";
import { WORDS } from "./counter-words.js";

export { call, clearErrors, esc, problem, say, showErrors, when } from "./staff.js";

export function t(key, vars = {}) {
  const text = WORDS[lang()][key] ?? WORDS.id[key];
  return text === undefined ? staffT(key, vars) : text.replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
}

export const office = document.querySelector("[data-office]")?.dataset.office;
export const officeUrl = (rest) => `/api/v1/offices/${encodeURIComponent(office)}/${rest}`;
export const appUrl = (reference, rest = "") =>
  `/api/v1/applications/${encodeURIComponent(reference)}${rest ? `/${rest}` : ""}`;

export const rupiah = (amount) => new Intl.NumberFormat(lang() === "en" ? "en-GB" : "id-ID",
  { style: "currency", currency: "IDR", maximumFractionDigits: 0 }).format(amount ?? 0);

// A reference as typed or scanned: upper case, no spaces. The server normalises further (O for
// 0 and so on); this only keeps obvious noise out of the URL path.
export const cleanReference = (text) => String(text || "").trim().toUpperCase().replace(/\s+/g, "");

// The page's own data-i18n elements in this page's words (staff.js did the console's).
export function localize(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
localize();
document.addEventListener("langchange", () => localize());

// The API's refusal shown next to its input (or at the form's top).
export function refusal(form, res) {
  return showErrors(form, res.data.fields, res.data.fields ? "" : problem(res));
}
