// The applicant's appointments on "My applications": for each application on this phone that
// the office has not yet verified, its booked slot, with reschedule, release and cancel (the
// access code kept on this phone authenticates; nothing new is stored). Online only: the
// office decides, so offline this section says so and offers nothing. Not in the offline shell
// for that reason (the shell's 100 KB budget): opened offline, the section simply stays hidden.
import { outbox } from "./app.js";
import { api } from "./api.js";
import { lang } from "./i18n.js";
import { esc } from "./shared.js";

const W = {
  id: { title: "Jadwal kedatangan", none: "Belum ada jadwal.", booked: "{date} pukul {slot}",
    change: "Ubah jadwal", release: "Lepas jadwal", cancel: "Batalkan permohonan", save: "Simpan jadwal baru",
    back: "Kembali", confirm: "Batalkan permohonan {ref}? Ini tidak bisa diurungkan.", offline: "Luring: jadwal hanya bisa diubah saat tersambung.",
    saved: "Jadwal {ref} diubah ke {date} pukul {slot}.", released: "Jadwal {ref} dilepas.", cancelled: "Permohonan {ref} dibatalkan.",
    full: "Jam itu baru saja penuh.", nearest: "Jam itu baru saja penuh; yang terdekat: {date} pukul {slot}.", pick: "Pilih jam baru" },
  en: { title: "Appointments", none: "No appointment yet.", booked: "{date} at {slot}",
    change: "Change appointment", release: "Release appointment", cancel: "Cancel application", save: "Save the new appointment",
    back: "Back", confirm: "Cancel application {ref}? This cannot be undone.", offline: "Offline: appointments can only be changed when connected.",
    saved: "Appointment for {ref} moved to {date} at {slot}.", released: "Appointment for {ref} released.", cancelled: "Application {ref} cancelled.",
    full: "That hour just filled up.", nearest: "That hour just filled up; the nearest free one: {date} at {slot}.", pick: "Choose a new hour" },
};
const w = (key, vars = {}) => (W[lang()][key] ?? W.id[key]).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
const box = document.getElementById("appointments");
const apps = new Map();
const url = (ref, rest) => `/api/v1/applications/${encodeURIComponent(ref)}/${rest}`;

function say(text) {
  box.querySelector("#appt-msg").textContent = text;
}

function cardHtml(a, appt) {
  const when = appt.status === "booked" ? w("booked", { date: appt.date, slot: appt.slot }) : w("none");
  return `<article class="card appt" data-reference="${esc(a.reference)}">
    <h3 class="ref">${esc(a.reference)}</h3><p class="appt-when" data-status="${esc(appt.status)}">${esc(when)}</p>
    <div class="buttons"><button type="button" data-act="change">${esc(w("change"))}</button>
    ${appt.status === "booked" ? `<button type="button" class="secondary" data-act="release">${esc(w("release"))}</button>` : ""}
    <button type="button" class="secondary" data-act="cancel">${esc(w("cancel"))}</button></div>
    <div class="appt-pick"></div></article>`;
}

async function render() {
  box.querySelector("h2").textContent = w("title");
  const list = box.querySelector("#appt-list");
  if (!navigator.onLine) {
    list.innerHTML = `<p class="meta">${esc(w("offline"))}</p>`;
    return;
  }
  const cards = [];
  for (const a of await outbox.all("applications")) {
    if (a.status && a.status !== "received") continue;
    const res = await api(url(a.reference, "appointment"), { accessCode: a.access_code }).catch(() => null);
    if (!res?.ok) continue;
    apps.set(a.reference, { app: a, appt: res.data });
    cards.push(cardHtml(a, res.data));
  }
  box.hidden = cards.length === 0;
  list.innerHTML = cards.join("");
}

async function showPicker(card, entry) {
  const office = entry.app.office || entry.app.reference.slice(0, 3);
  const lane = entry.appt.lane === "express" ? "express" : entry.appt.lane || "regular";
  const res = await api(`/api/v1/offices/${encodeURIComponent(office)}/slots?lane=${lane}&days=14`);
  if (!res.ok) return;
  const options = res.data.days.filter((d) => !d.closed).flatMap((d) => d.slots.filter((s) => s.free > 0)
    .map((s) => `<label class="slot"><input type="radio" name="new-slot-${esc(entry.app.reference)}" value="${esc(`${d.date} ${s.slot}`)}"> <span>${esc(d.date)} ${esc(s.slot)}</span></label>`));
  card.querySelector(".appt-pick").innerHTML = `<fieldset class="slot-day"><legend>${esc(w("pick"))}</legend><div class="slot-hours">${options.join("")}</div></fieldset>
    <div class="buttons"><button type="button" data-act="save">${esc(w("save"))}</button>
    <button type="button" class="secondary" data-act="back">${esc(w("back"))}</button></div>`;
}

box?.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-act]");
  if (!button) return;
  const card = button.closest("[data-reference]"), ref = card.dataset.reference;
  const entry = apps.get(ref), code = entry.app.access_code;
  const act = button.dataset.act;
  if (act === "change") return showPicker(card, entry);
  if (act === "back") { card.querySelector(".appt-pick").innerHTML = ""; return; }
  if (act === "cancel" && !confirm(w("confirm", { ref }))) return;
  button.disabled = true;
  say("");
  let res;
  if (act === "save") {
    const picked = card.querySelector("input[type=radio]:checked");
    if (!picked) { button.disabled = false; return; }
    const [date, slot] = picked.value.split(" ");
    res = await api(url(ref, "appointment"), { method: "PUT", body: { date, slot }, accessCode: code });
    if (res.ok) say(w("saved", { ref, date: res.data.date, slot: res.data.slot }));
    else if (res.data.error === "slot_full") say(res.data.nearest ? w("nearest", res.data.nearest) : w("full"));
  } else if (act === "release") {
    res = await api(url(ref, "appointment"), { method: "DELETE", body: {}, accessCode: code });
    if (res.ok) say(w("released", { ref }));
  } else if (act === "cancel") {
    res = await api(url(ref, "cancel"), { method: "POST", body: {}, accessCode: code });
    if (res.ok) {
      say(w("cancelled", { ref }));
      await outbox.put("applications", { ...entry.app, status: res.data.status, status_label: res.data.status_label });
    }
  }
  if (res && !res.ok && !box.querySelector("#appt-msg").textContent) say(res.data.detail || res.data.error || "");
  await render();
});

if (box) {
  document.addEventListener("langchange", render);
  addEventListener("online", render);
  addEventListener("offline", render);
  render();
}
