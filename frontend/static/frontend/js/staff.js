// The counter staff console: the delivery queue, polled, and the office's applications with
// approve / reject / collect. Session-authenticated, so every POST carries the CSRF token.
const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]")?.value ||
  (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function call(path, { method = "GET", body } = {}) {
  const res = await fetch(path, { method, credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body && JSON.stringify(body) });
  return { ok: res.ok, status: res.status, data: await res.json().catch(() => ({})) };
}

function age(seconds) {
  if (seconds == null) return "–";
  return seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

async function pollQueue() {
  try {
    const { ok, data } = await call("/api/v1/queue");
    if (ok) {
      for (const k of ["pending", "in_flight", "delivered", "dead"]) document.getElementById(k).textContent = data[k];
      document.getElementById("oldest").textContent = age(data.oldest_pending_age_seconds);
      document.getElementById("breaker").textContent = data.breakers?.central_printing ?? "–";
      document.getElementById("rate").textContent = data.delivery_rate_per_minute ?? data.delivered_last_minute ?? "–";
      document.getElementById("updated").textContent = `${new Date().toLocaleTimeString()}`;
    }
  } finally {
    setTimeout(pollQueue, 3000);
  }
}

const ACTIONS = { received: ["approve", "reject"], ready_for_pickup: ["collect"], needs_attention: ["reject"] };

async function loadApplications() {
  const params = new URLSearchParams(new FormData(document.getElementById("filter")));
  const { ok, data } = await call(`/api/v1/applications?${params}`);
  if (!ok) return;
  document.getElementById("rows").innerHTML = data.results.map((a) => `<tr data-reference="${esc(a.reference)}">
    <td class="ref">${esc(a.reference)}</td><td>${esc(a.applicant?.full_name)}</td>
    <td data-status="${esc(a.status)}">${esc(a.status_label)}</td>
    <td>${(ACTIONS[a.status] || []).map((act) => `<button type="button" data-action="${act}">${act}</button>`).join(" ")}</td></tr>`).join("");
}

async function act(ev) {
  const button = ev.target.closest("button[data-action]");
  if (!button) return;
  const reference = button.closest("tr").dataset.reference, action = button.dataset.action;
  const body = action === "reject" ? { reason: prompt("Alasan / Reason") || "" } : undefined;
  if (action === "reject" && !body.reason) return;
  button.disabled = true;
  const { ok, data } = await call(`/api/v1/applications/${encodeURIComponent(reference)}/${action}`, { method: "POST", body });
  document.getElementById("action-err").textContent = ok ? "" : data.detail || data.error || "";
  await loadApplications();
}

if (document.getElementById("stats")) pollQueue();
if (document.getElementById("rows")) {
  document.getElementById("filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadApplications(); });
  document.getElementById("rows").addEventListener("click", act);
  loadApplications();
}
