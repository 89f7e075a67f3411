// The office's day: the cash report (on screen and as the CSV the treasurer files), the quota
// calendar of one day (capacity per hour and lane, close or reopen the day), the supervisor's
// sign-off list and the office's booking settings.
import { call, clearErrors, esc, officeUrl, problem, refusal, rupiah, say, t, when } from "./counter-common.js";

const root = document.getElementById("office-day");
const supervisor = root.dataset.supervisor === "1";
const LANES = ["regular", "express", "priority"];
const today = () => new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Jakarta" });

// --- cash report ---------------------------------------------------------------------------------
const cash = document.getElementById("cash");
cash.elements.date.value = today();

function csvLink() {
  const params = new URLSearchParams({ date: cash.elements.date.value || today(), format: "csv" });
  if (cash.elements.clerk.value.trim()) params.set("clerk", cash.elements.clerk.value.trim());
  document.getElementById("cash-csv").href = officeUrl(`cash-report?${params}`);
}

async function loadCash() {
  clearErrors(cash);
  csvLink();
  const params = new URLSearchParams({ date: cash.elements.date.value || today() });
  if (cash.elements.clerk.value.trim()) params.set("clerk", cash.elements.clerk.value.trim());
  const res = await call(officeUrl(`cash-report?${params}`));
  if (!res.ok) return refusal(cash, res);
  const r = res.data;
  const clerks = r.clerks.map((c) => `<tr><td>${esc(c.clerk)}</td><td class="num">${esc(c.count)}</td><td class="num">${esc(rupiah(c.total))}</td></tr>`).join("");
  const rows = r.payments.map((p) => `<tr><td>${esc(when(p.paid_at))}</td><td class="ref">${esc(p.reference)}</td><td>${esc(p.clerk)}</td>
    <td>${esc(t(`c.method.${p.method}`))}</td><td>${esc(p.billing_code || p.receipt_no)}</td><td class="num">${esc(rupiah(p.amount))}</td>
    <td>${esc(t(`o.billing.${p.billing.state}`))}</td></tr>`).join("");
  document.getElementById("cash-report").innerHTML = `<p><strong>${esc(t("o.cash.total"))}: <span id="cash-total">${esc(rupiah(r.total))}</span></strong>
    (${esc(t("o.cash.count", { n: r.payments.length }))})</p>
    ${clerks ? `<table class="apps"><thead><tr><th scope="col">${esc(t("o.cash.clerk_col"))}</th><th scope="col">${esc(t("o.cash.count_col"))}</th><th scope="col">${esc(t("c.pay.total"))}</th></tr></thead><tbody>${clerks}</tbody></table>` : ""}
    ${rows ? `<details><summary>${esc(t("o.cash.details"))}</summary><table class="apps"><thead><tr>
      <th scope="col">${esc(t("o.cash.at"))}</th><th scope="col">${esc(t("c.col.ref"))}</th><th scope="col">${esc(t("o.cash.clerk_col"))}</th>
      <th scope="col">${esc(t("c.pay.method"))}</th><th scope="col">${esc(t("c.pay.proof"))}</th><th scope="col">${esc(t("c.pay.total"))}</th>
      <th scope="col">Billing</th></tr></thead><tbody>${rows}</tbody></table></details>` : `<p class="meta">${esc(t("o.cash.empty"))}</p>`}`;
}
cash.addEventListener("submit", (ev) => { ev.preventDefault(); loadCash(); });
cash.addEventListener("input", csvLink);

// --- quota calendar of one day ---------------------------------------------------------------------
const dayForm = document.getElementById("slot-day");
const slotsBox = document.getElementById("slots");
dayForm.elements.date.value = today();

// The day whose table is shown: edits go to it, not to whatever the date field says now, and
// only the latest load may draw (the one the page starts with can answer after a later one).
let dayShown = "";
let dayLoads = 0;

async function loadDay() {
  clearErrors(dayForm);
  const date = dayForm.elements.date.value;
  if (!date) return refusal(dayForm, { data: { fields: { date: [t("v.required")] } } });
  const load = ++dayLoads;
  const res = await call(officeUrl(`slots/${date}`));
  if (load !== dayLoads) return;
  if (!res.ok) return refusal(dayForm, res);
  dayShown = date;
  const d = res.data;
  const byHour = new Map();
  for (const s of d.slots) (byHour.get(s.slot) || byHour.set(s.slot, {}).get(s.slot))[s.lane] = s;
  const rows = [...byHour].map(([slot, lanes]) => `<tr><th scope="row">${esc(slot)}</th>${LANES.map((lane) => {
    const s = lanes[lane];
    const id = `cap-${slot.replace(":", "")}-${lane}`;
    const refs = s.bookings.map((b) => `<a href="/staff/desk#${encodeURIComponent(b.reference)}">${esc(b.reference)}</a>${b.checked_in ? " ✓" : ""}`).join(" ");
    return `<td><label class="sr" for="${id}">${esc(t("o.cap.label", { slot, lane: t(`c.lane.${lane}`) }))}</label>
      <input type="number" min="0" max="500" id="${id}" value="${esc(s.capacity)}" data-slot="${esc(slot)}" data-lane="${lane}" aria-describedby="${id}-err">
      <span class="meta" data-booked="${esc(s.booked)}">${esc(t("o.booked", { n: s.booked }))}</span><p class="err" id="${id}-err"></p>${refs ? `<p class="meta">${refs}</p>` : ""}</td>`;
  }).join("")}</tr>`).join("");
  slotsBox.innerHTML = `<p id="day-state" data-date="${esc(date)}" data-closed="${d.closed ? "1" : ""}">${esc(d.closed ? t("o.day.closed", { note: d.note }) : t("o.day.open"))}</p>
    ${d.closed ? `<button type="button" class="secondary" id="reopen">${esc(t("o.day.reopen"))}</button>` :
    `<form id="close-day" class="filter" novalidate><div><label for="close-note">${esc(t("o.day.note"))}</label>
      <input id="close-note" name="note" data-field="note" maxlength="200" aria-describedby="close-note-err"><p class="err" id="close-note-err"></p></div>
      <button type="submit" class="secondary">${esc(t("o.day.close"))}</button><p class="err" role="alert" data-form-err></p></form>`}
    ${d.closed ? "" : `<table class="apps slots"><thead><tr><th scope="col">${esc(t("o.hour"))}</th>${LANES.map((l) => `<th scope="col">${esc(t(`c.lane.${l}`))}</th>`).join("")}</tr></thead><tbody>${rows}</tbody></table>
    <p class="hint">${esc(t("o.cap.hint"))}</p>`}`;
}
dayForm.addEventListener("submit", (ev) => { ev.preventDefault(); loadDay(); });

slotsBox.addEventListener("change", async (ev) => {
  const input = ev.target.closest("input[data-slot]");
  if (!input) return;
  const err = document.getElementById(`${input.id}-err`);
  err.textContent = "";
  const res = await call(officeUrl(`slots/${dayShown}/${input.dataset.slot}/${input.dataset.lane}`),
    { method: "PUT", body: { capacity: Number(input.value) } });
  if (!res.ok) {
    err.textContent = res.data.error === "capacity_below_booked" ? t("o.cap.below", { n: res.data.booked }) : problem(res);
    input.setAttribute("aria-invalid", "true");
    return;
  }
  input.removeAttribute("aria-invalid");
  input.dataset.saved = String(res.data.capacity);
  say(t("o.cap.saved", { slot: input.dataset.slot, lane: t(`c.lane.${input.dataset.lane}`), n: res.data.capacity }));
});

slotsBox.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  clearErrors(form);
  const res = await call(officeUrl("closed-days"), { method: "POST",
    body: { date: dayShown, note: form.elements.note.value.trim() } });
  if (!res.ok) {
    const detail = res.data.error === "day_has_bookings" ? t("o.day.has_bookings", { n: res.data.bookings }) : problem(res);
    return refusal(form, { data: { fields: res.data.fields, detail } });
  }
  say(t("o.day.closed_said"));
  loadDay();
});

slotsBox.addEventListener("click", async (ev) => {
  if (ev.target.id !== "reopen") return;
  const res = await call(officeUrl(`closed-days/${dayShown}`), { method: "DELETE" });
  if (res.ok || res.status === 204) say(t("o.day.reopened"));
  loadDay();
});

// --- sign-off list (supervisors) ----------------------------------------------------------------------
async function loadSignoffs() {
  const list = document.getElementById("signoff-list");
  if (!list) return;
  const res = await call(officeUrl("signoffs"));
  if (!res.ok) return;
  list.innerHTML = res.data.results.map((r) => `<li class="card" data-reference="${esc(r.reference)}">
    <a class="ref" href="/staff/desk#${encodeURIComponent(r.reference)}">${esc(r.reference)}</a>
    <p class="meta">${esc(t("c.desk.interview_by", { by: r.interview?.by, at: when(r.interview?.at) }))} · ${esc(t(r.paid ? "o.paid" : "o.unpaid"))}</p></li>`).join("") ||
    `<li class="meta">${esc(t("o.signoffs.empty"))}</li>`;
}

// --- office settings ---------------------------------------------------------------------------------
const schedule = document.getElementById("schedule");

async function loadSchedule() {
  const res = await call(officeUrl("schedule"));
  if (!res.ok) return;
  const s = res.data, f = schedule.elements;
  for (const lane of LANES) f[lane].value = s.capacity[lane];
  f.booking_window_days.value = s.booking_window_days;
  f.regular_every.value = s.regular_every;
  f.requires_signoff.checked = s.requires_signoff;
  document.getElementById("sch-hours").textContent = t("o.hours", { first: s.hours[0], last: s.hours.at(-1), tz: s.timezone });
  for (const el of schedule.querySelectorAll("input")) el.disabled = !supervisor;
}

schedule.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(schedule);
  const f = schedule.elements;
  const body = { capacity: Object.fromEntries(LANES.map((l) => [l, Number(f[l].value)])),
    booking_window_days: Number(f.booking_window_days.value), regular_every: Number(f.regular_every.value),
    requires_signoff: f.requires_signoff.checked };
  const res = await call(officeUrl("schedule"), { method: "PATCH", body });
  if (!res.ok) return refusal(schedule, res);
  say(t("o.saved"));
  loadSchedule();
});

document.addEventListener("langchange", () => { loadCash(); loadDay(); loadSignoffs(); loadSchedule(); });
loadCash();
loadDay();
loadSignoffs();
loadSchedule();
