// The operator dashboard's live part: every [data-operations] section polls its office's JSON
// (/api/v1/offices/<code>/operations) and refreshes its words, figures and progress bar. The
// server writes every sentence (times in the office's zone, Indonesian or English by the
// Accept-Language that call() sends), so this file only places text. No inline script: CSP.
import { call, esc, t } from "./staff.js";

const POLL_MS = 3000;
const sections = [...document.querySelectorAll("[data-operations]")];

const pick = (data, path) => path.split(".").reduce((v, k) => (v == null ? v : v[k]), data);

function show(section, data) {
  for (const el of section.querySelectorAll("[data-bind]")) {
    const value = pick(data, el.dataset.bind);
    if (value != null) el.textContent = String(value);
  }
  section.querySelector("[data-upstreams]").innerHTML = data.upstreams.map((u) =>
    `<li data-state="${esc(u.state)}"><strong>${esc(u.label)}</strong> <span>${esc(u.words)}</span></li>`).join("");
  section.querySelector("[data-applications]").innerHTML = data.applications.length
    ? data.applications.map((a) =>
      `<li data-status="${esc(a.status)}">${esc(a.label)}: <strong>${esc(a.count)}</strong></li>`).join("")
    : `<li>${esc(t("staff.ops.no_applications"))}</li>`;
  section.querySelector("[data-eta]").dataset.eta = data.eta.state;
  const drain = section.querySelector("[data-progress]");
  drain.hidden = !data.progress;
  if (data.progress) {
    const bar = drain.querySelector("progress");
    bar.max = Math.max(1, data.progress.total);
    bar.value = data.progress.done;
  }
  section.dispatchEvent(new CustomEvent("operations", { detail: data, bubbles: true }));
}

export async function refresh(section) {
  const { ok, data } = await call(section.dataset.operations);
  if (ok) show(section, data);
  section.dataset.live = ok ? "ok" : "stale"; // the last poll's outcome, for eyes and tests
}

export async function refreshAll() {
  await Promise.all(sections.map(refresh));
}

async function poll() {
  try {
    await refreshAll();
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.addEventListener("langchange", refreshAll);
poll();
