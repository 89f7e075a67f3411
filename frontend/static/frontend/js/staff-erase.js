// The application's personal data on the staff application page (UU PDP): which consent text
// the applicant agreed to, and erasure at their request where the law allows it (received:
// withdrawn and erased; rejected or cancelled: erased). The server decides (409 otherwise, see
// immigration/erasure.py); this page only offers the button where it would be accepted.
import { lang } from "./i18n.js";
import { call, esc, problem, say, when } from "./staff.js";

const WORDS = {
  id: {
    "er.title": "Data pribadi", "er.erase": "Hapus data pribadi atas permintaan pemohon",
    "er.confirm": "Data pribadi pemohon, dokumen, foto dan tanda tangan dihapus permanen. Nomor permohonan dan riwayat status tetap disimpan. Lanjutkan?",
    "er.yes": "Ya, hapus", "er.no": "Batal",
    "er.consent": "Persetujuan pemrosesan data: teks versi {v}.",
    "er.no_consent": "Tidak ada catatan persetujuan (permohonan lama).",
    "er.erased": "Data pribadi dihapus pada {at}.",
    "er.kept": "Data tidak dapat dihapus sekarang: kantor wajib menyimpannya selama paspor diproses atau setelah diserahkan; data dianonimkan saat masa retensi berakhir.",
    "er.received": "Jika dihapus, permohonan ini dibatalkan.",
    "er.done": "Data pribadi permohonan {ref} telah dihapus.",
  },
  en: {
    "er.title": "Personal data", "er.erase": "Erase personal data at the applicant's request",
    "er.confirm": "The applicant's personal data, documents, photo and signature are deleted for good. The reference and the status history stay. Continue?",
    "er.yes": "Yes, erase", "er.no": "Cancel",
    "er.consent": "Consent to data processing: text version {v}.",
    "er.no_consent": "No consent on record (an older application).",
    "er.erased": "Personal data erased on {at}.",
    "er.kept": "The data cannot be erased now: the office must keep it while the passport is being made or after it was handed over; it is anonymised when its retention period ends.",
    "er.received": "Erasing withdraws this application.",
    "er.done": "The personal data of application {ref} was erased.",
  },
};
const t = (key, vars = {}) => (WORDS[lang()][key] ?? WORDS.id[key])
  .replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
const ERASABLE = new Set(["received", "rejected", "cancelled"]);
const $ = (id) => document.getElementById(id);
const reference = JSON.parse($("dossier-reference").textContent);
const url = `/api/v1/applications/${encodeURIComponent(reference)}`;
let application = null;

function render() {
  for (const el of document.querySelectorAll("[data-er]")) el.textContent = t(el.dataset.er);
  if (!application) return;
  const a = application;
  $("consent-state").textContent = a.consent_version ? t("er.consent", { v: a.consent_version })
    : t("er.no_consent");
  const erasable = !a.anonymised_at && ERASABLE.has(a.status);
  $("erase").hidden = !erasable;
  if (!erasable) $("erase-confirm").hidden = true;
  $("erase-hint").textContent = a.anonymised_at ? t("er.erased", { at: when(a.anonymised_at) })
    : !erasable ? t("er.kept") : a.status === "received" ? t("er.received") : "";
}

async function load() {
  const res = await call(url);
  if (res.ok) application = res.data;
  render();
}

$("erase").addEventListener("click", () => {
  $("erase-confirm").hidden = false;
  $("erase-no").focus();  // the safe choice first
});
$("erase-no").addEventListener("click", () => {
  $("erase-confirm").hidden = true;
  $("erase").focus();
});
$("erase-yes").addEventListener("click", async () => {
  $("erase-err").innerHTML = "";
  const res = await call(`${url}/erase`, { method: "POST", body: {} });
  $("erase-confirm").hidden = true;
  if (!res.ok) {
    $("erase-err").innerHTML = `<p>${esc(problem(res))}</p>`;
    return load();
  }
  application = res.data;
  render();
  say(t("er.done", { ref: reference }));
  document.dispatchEvent(new CustomEvent("dossierchange"));
});

document.addEventListener("langchange", render);
load();
