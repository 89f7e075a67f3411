// Calls to the office API. Applicant calls send no cookies (credentials: "omit"): they
// authenticate with the access code header only, and a staff session in the same browser
// cannot turn them into CSRF-checked session requests.
import { lang } from "./i18n.js";

export async function api(path, { method = "GET", body, accessCode } = {}) {
  const headers = { "Accept-Language": lang() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accessCode) headers["X-Access-Code"] = accessCode;
  const res = await fetch(path, { method, headers, credentials: "omit", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, ok: res.ok, data: await res.json().catch(() => ({})) };
}

export function fetchApplication(reference, accessCode) {
  return api(`/api/v1/applications/${encodeURIComponent(reference)}`, { accessCode });
}

// Offices are not personal: the last list is kept so the form works offline.
export async function offices() {
  try {
    const { ok, data } = await api("/api/v1/offices");
    if (ok) {
      localStorage.setItem("offices", JSON.stringify(data.offices));
      return data.offices;
    }
  } catch (e) { /* offline: fall back to the last list */ }
  return JSON.parse(localStorage.getItem("offices") || "[]");
}
