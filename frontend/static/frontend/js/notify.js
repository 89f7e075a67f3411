// "Tell me": SMS to the phone number on the application and/or Web Push to this browser, on the
// receipt page. On demand, not in the precached shell (it needs the network anyway, and the
// shell must stay within 100 KB): offline, before it was ever fetched, it simply does not load
// and the receipt works without it. Its words live here, in both languages, for the same reason.
// The service worker's "push" handler shows what the office sends (title, body, tag = message
// key so a resend replaces rather than repeats, and the "stop" action: see notify/texts.py).
import { api } from "./api.js";
import { outbox } from "./app.js";
import { lang } from "./i18n.js";
import { esc } from "./shared.js";

const WORDS = {
  id: {
    title: "Kabari saya", sms: "SMS ke nomor HP yang ada di permohonan ini",
    push: "Notifikasi di perangkat ini",
    iphone: "Di iPhone, notifikasi hanya bisa dari aplikasi yang dipasang di Layar Utama (Bagikan, lalu Tambah ke Layar Utama). Jika tidak, pilih SMS.",
    language: "Bahasa pesan", save: "Simpan", saved: "Tersimpan.",
    failed: "Belum tersimpan. Coba lagi saat ada sinyal.",
    denied: "Notifikasi diblokir di browser ini. Pilih SMS, atau izinkan notifikasi di pengaturan.",
    nopush: "Browser ini tidak dapat menerima notifikasi. Pilih SMS.",
    what: "Kami kabari saat disetujui, dikirim ke pusat, siap diambil, perlu perbaikan atau ditolak, dan saat pencetakan berjalan kembali setelah gangguan.",
    stop: "Berhenti kapan saja: balas STOP ke SMS kami, atau buka tautan berhenti di pesan.",
  },
  en: {
    title: "Tell me", sms: "SMS to the mobile number on this application",
    push: "Notifications on this device",
    iphone: "On iPhone, notifications work only from the app added to the Home Screen (Share, then Add to Home Screen). Otherwise choose SMS.",
    language: "Message language", save: "Save", saved: "Saved.",
    failed: "Not saved yet. Try again when you have signal.",
    denied: "Notifications are blocked in this browser. Choose SMS, or allow them in settings.",
    nopush: "This browser cannot receive notifications. Choose SMS.",
    what: "We tell you when it is approved, sent to central, ready for pickup, needs correcting or is rejected, and when printing resumes after an outage.",
    stop: "Stop any time: reply STOP to our SMS, or open the stop link in a message.",
  },
};
const w = (key) => WORDS[lang()][key];
const flag = (reference) => `notify-push:${reference}`;
const pushSupported = () => "serviceWorker" in navigator && "PushManager" in self && "Notification" in self;

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function subscribe(pushKey) {
  if ((await Notification.requestPermission()) !== "granted") throw new Error("denied");
  const registration = await navigator.serviceWorker.ready;
  return (await registration.pushManager.getSubscription()) ||
    registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(pushKey) });
}

async function mountNotify(box, app) {
  const url = `/api/v1/applications/${encodeURIComponent(app.reference)}/notifications`;
  const { ok, data } = await api(url, { accessCode: app.access_code });
  if (!ok) return;
  const pushOn = localStorage.getItem(flag(app.reference)) === "1";
  box.innerHTML = `<h2>${esc(w("title"))}</h2><p class="hint">${esc(w("what"))}</p>
    <label><input type="checkbox" id="notify-sms"${data.sms ? " checked" : ""}> ${esc(w("sms"))}</label>
    <label><input type="checkbox" id="notify-push"${pushOn ? " checked" : ""}${pushSupported() && data.push_key ? "" : " disabled"}> ${esc(w("push"))}</label>
    <p class="hint" id="notify-iphone">${esc(w("iphone"))}</p>
    <label>${esc(w("language"))} <select id="notify-lang"><option value="id">Bahasa Indonesia</option><option value="en">English</option></select></label>
    <button type="button" id="notify-save">${esc(w("save"))}</button>
    <p id="notify-msg" role="status"></p><p class="hint">${esc(w("stop"))}</p>`;
  box.hidden = false;
  box.querySelector("#notify-lang").value = data.sms || data.push_devices ? data.language : lang();
  const msg = box.querySelector("#notify-msg");
  box.querySelector("#notify-save").addEventListener("click", async () => {
    const body = { sms: box.querySelector("#notify-sms").checked, language: box.querySelector("#notify-lang").value };
    const wantPush = box.querySelector("#notify-push").checked;
    try {
      if (wantPush) body.push = (await subscribe(data.push_key)).toJSON();
      else if (localStorage.getItem(flag(app.reference)) === "1" && pushSupported()) {
        // Only this application stops: the browser's subscription may serve others too.
        const sub = await (await navigator.serviceWorker.ready).pushManager.getSubscription();
        if (sub) body.push_off_endpoint = sub.endpoint;
      }
    } catch (e) {
      msg.textContent = e.message === "denied" ? w("denied") : w("nopush");
      return;
    }
    const saved = await api(url, { method: "PUT", body, accessCode: app.access_code }).catch(() => ({ ok: false }));
    if (!saved.ok) { msg.textContent = w("failed"); return; }
    if (wantPush) localStorage.setItem(flag(app.reference), "1");
    else localStorage.removeItem(flag(app.reference));
    msg.textContent = w("saved");
  });
}

async function start() {
  let box = document.getElementById("notify");
  if (!box) {
    box = Object.assign(document.createElement("section"), { id: "notify", className: "card", hidden: true });
    document.getElementById("receipt").after(box);
  }
  const reference = decodeURIComponent(location.hash.slice(1));
  const app = reference && navigator.onLine ? await outbox.get("applications", reference) : null;
  box.hidden = true;
  if (app) await mountNotify(box, app).catch(() => {});
}

addEventListener("hashchange", start);
start();
