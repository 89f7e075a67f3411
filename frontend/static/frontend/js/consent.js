// Consent (UU PDP) on the apply form: the server's text (GET /api/v1/consent) in the chosen
// language, kept in localStorage for offline use like the status labels. The box's value is the
// text's version, so the tick records which text the applicant agreed to; a new text unticks
// it. Runs before apply.js (module order), so a restored draft's tick is matched against the
// version shown. A page-only module with its own words: the shell stays within its budget.
import { addWords, lang, t } from "./i18n.js";

addWords({
  id: {
    "consent.agree": "Saya telah membaca dan menyetujui pernyataan di atas.",
    "consent.none": "Teks persetujuan belum termuat: buka halaman ini sekali saat ada sinyal.",
    "v.consent_required": "Centang persetujuan untuk mengirim permohonan.",
    "v.unknown_consent_version": "Teks persetujuan sudah diperbarui; baca dan centang lagi.",
  },
  en: {
    "consent.agree": "I have read and agree to the statement above.",
    "consent.none": "The consent text has not loaded yet: open this page once with signal.",
    "v.consent_required": "Tick the consent box to send the application.",
    "v.unknown_consent_version": "The consent text has changed; read it and tick again.",
  },
});

const KEY = "consent-text";
// Built here rather than in the page: the page is in the offline shell (100 KB budget).
document.getElementById("consent").innerHTML = `<h2 id="consent-title"></h2><p id="consent-text"></p>
  <label class="check"><input type="checkbox" id="consent_version" name="consent_version"> <span></span></label>
  <p class="err" id="consent_version-err"></p>`;
const box = document.getElementById("consent_version");

function cached() {
  try { return JSON.parse(localStorage.getItem(KEY)); } catch (e) { return null; }
}

function show() {
  const text = cached(), version = text?.version ?? "";
  document.getElementById("consent-title").textContent = text?.title[lang()] ?? "";
  document.getElementById("consent-text").textContent = text?.text[lang()] ?? t("consent.none");
  box.nextElementSibling.textContent = t("consent.agree");
  if (box.value !== version) box.checked = false;
  box.value = version;
  box.disabled = !text;  // nothing to agree to yet
}

async function refresh() {
  try {
    const res = await fetch("/api/v1/consent", { credentials: "omit", cache: "no-store" });
    if (res.ok) localStorage.setItem(KEY, JSON.stringify(await res.json()));
  } catch (e) { /* offline: keep the last text */ }
  show();
}

show();
refresh();
document.addEventListener("langchange", show);

// The worker keeps this on-demand file only when it passes through the worker, and on the very
// first visit the page is not controlled yet: fetch it again once it is, or the form could not
// be sent offline (nothing to tick) until a second visit with signal.
const keep = () => fetch(import.meta.url).catch(() => {});
if (navigator.serviceWorker?.controller) keep();
else navigator.serviceWorker?.addEventListener("controllerchange", keep, { once: true });
