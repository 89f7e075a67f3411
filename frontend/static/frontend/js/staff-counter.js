// The counter: check applicants in (the receipt's QR from the camera or a photo, or the typed
// reference) and give them a number; call the next number to this counter; today's queue.
import { call, cleanReference, clearErrors, esc, officeUrl, problem, refusal, say, t, when } from "./counter-common.js";
import { mountScanner } from "./qr-scan.js";

const checkin = document.getElementById("checkin");
const callForm = document.getElementById("call");
const counterInput = document.getElementById("counter-name");
// A counter's name is the desk's, not anyone's data: the shared browser may remember it.
counterInput.value = localStorage.getItem("counter-name") || "";
let serving = null; // the ticket this counter called last
let latest = 0;

const laneName = (lane) => t(`c.lane.${lane}`);
const stateName = (state) => t(`c.state.${state}`);
const purposeName = (purpose) => t(`c.purpose.${purpose}`);
const deskLink = (reference) => `<a href="/staff/desk#${encodeURIComponent(reference)}">${esc(t("c.desk.open", { ref: reference }))}</a>`;

// --- check-in ---------------------------------------------------------------------------------
function showTicket(ticket, again) {
  const box = document.getElementById("ticket");
  box.hidden = false;
  box.innerHTML = `<p class="meta">${esc(t(again ? "c.ticket.again" : "c.ticket.given"))}</p>
    <p class="number" id="ticket-number">${esc(ticket.number)}</p>
    <p>${esc(laneName(ticket.lane))} · ${esc(purposeName(ticket.purpose))} · <span class="ref">${esc(ticket.reference)}</span></p>
    <p class="meta">${esc(t("c.ticket.ahead", { n: ticket.waiting_ahead ?? 0 }))}</p>
    ${ticket.appointment?.status === "booked" ? `<p class="meta">${esc(t("c.ticket.appointment", { date: ticket.appointment.date, slot: ticket.appointment.slot }))}</p>` : ""}`;
}

async function checkIn(reference) {
  clearErrors(checkin);
  document.getElementById("ticket").hidden = true;
  if (!reference) return refusal(checkin, { data: { fields: { reference: [t("v.required")] } } });
  const body = { reference };
  if (checkin.elements.lane.value) body.lane = checkin.elements.lane.value;
  const submit = checkin.querySelector("[type=submit]");
  submit.disabled = true;
  const res = await call(officeUrl("arrivals"), { method: "POST", body });
  submit.disabled = false;
  if (!res.ok) return refusal(checkin, res);
  showTicket(res.data, res.status === 200);
  say(t("c.ticket.said", { number: res.data.number }));
  checkin.reset();
  loadTickets();
}

checkin.addEventListener("submit", (ev) => {
  ev.preventDefault();
  checkIn(cleanReference(checkin.elements.reference.value));
});

// A scanned code is put in the reference box and checked in at once: the QR is the receipt's.
mountScanner({
  words: t,
  onReference: (reference) => {
    checkin.elements.reference.value = reference;
    checkIn(reference);
  },
});

// --- calling ----------------------------------------------------------------------------------
function showServing() {
  const box = document.getElementById("serving");
  box.hidden = !serving;
  if (!serving) return;
  const closed = serving.state !== "called";
  box.innerHTML = `<p class="meta">${esc(t("c.call.serving", { counter: serving.counter }))}</p>
    <p class="number" id="serving-number">${esc(serving.number)}</p>
    <p>${esc(laneName(serving.lane))} · ${esc(purposeName(serving.purpose))} · ${deskLink(serving.reference)}</p>
    <p class="meta">${esc(stateName(serving.state))}</p>
    ${closed ? "" : `<div class="buttons">
      <button type="button" class="secondary" data-act="recall">${esc(t("c.call.recall"))}</button>
      <button type="button" class="secondary" data-act="done">${esc(t("c.call.done"))}</button>
      <button type="button" class="secondary" data-act="no-show">${esc(t("c.call.no_show"))}</button></div>`}`;
}

callForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(callForm);
  const counter = counterInput.value.trim();
  if (!counter) return refusal(callForm, { data: { fields: { counter: [t("v.required")] } } });
  localStorage.setItem("counter-name", counter);
  const button = document.getElementById("call-next");
  button.disabled = true;
  const res = await call(officeUrl(`counters/${encodeURIComponent(counter)}/call-next`), { method: "POST" });
  button.disabled = false;
  if (!res.ok) return refusal(callForm, res);
  serving = res.data.ticket;
  showServing();
  say(serving ? t("c.call.called", { number: serving.number, counter }) : t("c.call.nobody"));
  loadTickets();
});

document.getElementById("serving").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-act]");
  if (!button || !serving) return;
  button.disabled = true;
  const res = await call(officeUrl(`tickets/${serving.id}/${button.dataset.act}`), { method: "POST" });
  if (!res.ok) {
    button.disabled = false;
    return say(problem(res));
  }
  serving = res.data;
  showServing();
  say(t(`c.call.${button.dataset.act.replace("-", "_")}_said`, { number: serving.number }));
  loadTickets();
});

// --- today's queue, polled ----------------------------------------------------------------------
async function loadTickets() {
  const request = ++latest;
  const res = await call(officeUrl("tickets?state=all"));
  if (request !== latest || !res.ok) return;
  const { tickets, waiting } = res.data;
  document.getElementById("tickets").innerHTML = tickets.map((k) => `<tr data-ticket="${esc(k.id)}" data-state="${esc(k.state)}">
    <th scope="row" class="ref">${esc(k.number)}</th><td>${deskLink(k.reference)}</td>
    <td>${esc(stateName(k.state))}</td><td>${esc(k.counter || "–")}</td></tr>`).join("") ||
    `<tr><td colspan="4">${esc(t("c.tickets.empty"))}</td></tr>`;
  document.getElementById("waiting").textContent = t("c.waiting", waiting);
  // After a reload the counter still knows whom it is serving (the server does).
  const mine = tickets.filter((k) => k.state === "called" && k.counter === counterInput.value.trim()).at(-1);
  if (!serving && mine) {
    serving = mine;
    showServing();
  }
  document.getElementById("waiting").dataset.total = String(Object.values(waiting).reduce((a, b) => a + b, 0));
}

async function poll() {
  try { await loadTickets(); } finally { setTimeout(poll, 5000); }
}

// Another counter name: whom that counter is serving comes from today's queue.
counterInput.addEventListener("change", () => {
  serving = null;
  showServing();
  loadTickets();
});
document.addEventListener("langchange", () => { loadTickets(); showServing(); });
poll();
