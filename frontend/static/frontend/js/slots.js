// The slot picker on the apply page: the office's free appointment slots for the applicant's
// lane, chosen before sending. The calendar is public (no personal data), so the last one seen
// is kept in localStorage and shown offline with its age; the office confirms the slot when the
// application reaches it, or gives the nearest free one and says so. The choice travels in the
// form as a hidden `appointment` field (JSON) that apply.js puts in the body as an object.
import { lang } from "./i18n.js";
import { esc } from "./shared.js";

const W = {
  id: { legend: "Jadwal kedatangan (opsional)", day: "Tanggal", none: "Tanpa jadwal (datang langsung)",
    free: "{n} kosong", full: "penuh", closed: "tutup", fresh: "Jadwal kosong per {at}.",
    stale: "Luring: jadwal terakhir dilihat {age} lalu; bisa sudah berubah. Kantor menetapkan jadwal saat permohonan tiba.",
    never: "Jadwal belum pernah dimuat di ponsel ini. Anda tetap bisa mengirim tanpa jadwal.",
    empty: "Tidak ada jadwal kosong dalam jangka pemesanan.", hours: "Jam", chosen: "Dipilih: {date} pukul {slot}",
    m: "{n} menit", h: "{n} jam", d: "{n} hari" },
  en: { legend: "Appointment (optional)", day: "Date", none: "No appointment (walk in)",
    free: "{n} free", full: "full", closed: "closed", fresh: "Free slots as of {at}.",
    stale: "Offline: calendar last seen {age} ago; it may have changed. The office confirms the slot when your application arrives.",
    never: "No calendar has been loaded on this phone yet. You can still send without an appointment.",
    empty: "No free slots within the booking window.", hours: "Hour", chosen: "Chosen: {date} at {slot}",
    m: "{n} min", h: "{n} h", d: "{n} days" },
};
const w = (key, vars = {}) => (W[lang()][key] ?? W.id[key]).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");

const box = document.getElementById("slot-picker");
const form = box?.closest("form");
const hidden = box?.querySelector("input[name=appointment]");
let calendar = null, stale = false;
let shown = null; // the day whose hours are listed

const lane = () => (form.elements.service?.value === "express" ? "express" : "regular");
const storeKey = (office) => `slots:${office}:${lane()}`;

function age(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  return minutes < 120 ? w("m", { n: minutes }) : minutes < 2880 ? w("h", { n: Math.round(minutes / 60) }) : w("d", { n: Math.round(minutes / 1440) });
}

function chosen() {
  try { return hidden.value ? JSON.parse(hidden.value) : null; } catch { return null; }
}

function choose(value) {
  hidden.value = value ? JSON.stringify(value) : "";
  hidden.dispatchEvent(new Event("input", { bubbles: true })); // apply.js saves the draft on input
  render();
}

async function load() {
  const office = form.elements.office?.value;
  if (!office) return;
  // The last calendar at once, the fresh one when it comes: the form below does not jump
  // while someone is about to tap "Next".
  calendar = JSON.parse(localStorage.getItem(storeKey(office)) || "null");
  stale = !navigator.onLine;
  render();
  try {
    const res = await fetch(`/api/v1/offices/${encodeURIComponent(office)}/slots?lane=${lane()}&days=14`,
      { cache: "no-store", headers: { "Accept-Language": lang() } });
    if (!res.ok) throw new Error(String(res.status));
    calendar = await res.json();
    stale = false;
    localStorage.setItem(storeKey(office), JSON.stringify(calendar));
  } catch {
    calendar = JSON.parse(localStorage.getItem(storeKey(office)) || "null");
    stale = true;
  }
  render();
}

function render() {
  const state = box.querySelector("#slot-state"), days = box.querySelector("#slot-days");
  box.querySelector("legend").textContent = w("legend");
  if (!calendar) {
    state.textContent = w("never");
    days.innerHTML = "";
    return;
  }
  state.textContent = stale ? w("stale", { age: age(calendar.generated_at) })
    : w("fresh", { at: new Date(calendar.generated_at).toLocaleTimeString(lang() === "en" ? "en-GB" : "id-ID", { hour: "2-digit", minute: "2-digit" }) });
  state.dataset.stale = stale ? "1" : "";
  const pick = chosen();
  const open = calendar.days.filter((d) => !d.closed && d.slots.some((s) => s.free > 0));
  const locale = lang() === "en" ? "en-GB" : "id-ID";
  const dayName = (date) => new Date(`${date}T00:00:00`).toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short" });
  // One day's hours at a time: a fortnight of hours in one list is too long for a phone.
  shown = open.some((d) => d.date === shown) ? shown : pick?.date && open.some((d) => d.date === pick.date) ? pick.date : open[0]?.date;
  const day = open.find((d) => d.date === shown);
  days.innerHTML = `<label class="slot-none"><input type="radio" form="slot-picker-none" name="slot-choice" value=""${pick ? "" : " checked"}> ${esc(w("none"))}</label>` +
    (open.length ? `<label for="slot-date">${esc(w("day"))}</label><select id="slot-date" form="slot-picker-none">${open.map((d) =>
      `<option value="${esc(d.date)}"${d.date === shown ? " selected" : ""}>${esc(dayName(d.date))} · ${esc(w("free", { n: d.slots.reduce((n, s) => n + s.free, 0) }))}</option>`).join("")}</select>
      <div class="slot-hours" role="group" aria-label="${esc(w("hours"))}">${day.slots.map((s) => {
        const on = pick && pick.date === day.date && pick.slot === s.slot;
        return `<label class="slot${s.free ? "" : " full"}"><input type="radio" form="slot-picker-none" name="slot-choice" value="${esc(`${day.date} ${s.slot}`)}"${on ? " checked" : ""}${s.free ? "" : " disabled"}>
          <span>${esc(s.slot)}</span> <small>${esc(s.free ? w("free", { n: s.free }) : w("full"))}</small></label>`;
      }).join("")}</div>` : `<p class="hint">${esc(w("empty"))}</p>`);
  box.querySelector("#slot-chosen").textContent = pick ? w("chosen", { date: pick.date, slot: pick.slot }) : "";
}

if (box) {
  box.addEventListener("change", (ev) => {
    if (ev.target.id === "slot-date") {
      shown = ev.target.value;
      return render();
    }
    if (ev.target.name !== "slot-choice") return;
    const [date, slot] = ev.target.value.split(" ");
    choose(date ? { date, slot } : null);
  });
  // A different office or service is another calendar; a slot chosen for the old one is dropped.
  form.addEventListener("change", (ev) => {
    if (ev.target.name === "office" || ev.target.name === "service") {
      if (chosen()) choose(null);
      load();
    }
  });
  document.addEventListener("langchange", render);
  addEventListener("online", load);
  // The office list is filled by apply.js; wait for it before the first load.
  const ready = () => form.elements.office?.value;
  if (ready()) load();
  else {
    const watch = new MutationObserver(() => { if (ready()) { watch.disconnect(); load(); } });
    watch.observe(form.elements.office, { childList: true });
  }
}
