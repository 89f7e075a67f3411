// Track by reference and access code. The code travels in the X-Access-Code header, never in
// the URL (URLs end up in logs and history).
import { outbox, timelineHtml } from "./app.js";
import { fetchApplication } from "./api.js";
import { t, when } from "./i18n.js";
import { esc, statusLabel } from "./shared.js";

const form = document.getElementById("track"), result = document.getElementById("result");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reference = form.reference.value.trim().toUpperCase(), code = form.access_code.value.trim();
  document.getElementById("reference-err").textContent = reference ? "" : t("v.required");
  document.getElementById("access_code-err").textContent = code ? "" : t("v.required");
  if (!reference || !code) return;
  let res;
  try {
    res = await fetchApplication(reference, code);
  } catch (e) {
    result.innerHTML = `<p class="err">${esc(t("offline"))}</p>`;
    return;
  }
  if (!res.ok) {
    result.innerHTML = `<p class="err" role="alert">${esc(t("track.notfound"))}</p>`;
    return;
  }
  const a = { ...res.data, access_code: code, office: res.data.office.code,
    office_name: res.data.office.name, fetched_at: new Date().toISOString() };
  if (form.remember.checked) {
    const known = await outbox.get("applications", a.reference);
    await outbox.put("applications", { ...known, ...a });
  }
  result.innerHTML = `<article class="card"><h2 class="ref">${esc(a.reference)}</h2>
    <p class="status" data-status="${esc(a.status)}">${esc(statusLabel(a.status, a.status_label))}</p>
    ${a.queue?.note ? `<p class="note">${esc(a.queue.note)}</p>` : ""}
    <p class="meta">${esc(t("last_fetched", { at: when(a.fetched_at) }))}</p>${timelineHtml(a)}</article>`;
});
