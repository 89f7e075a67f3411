// The queue to central (the dashboard: operations.js); what central refused for good (dead
// letters), with a retry per message; and the announcements this office shows on its public
// service board.
import { refreshAll } from "./operations.js";
import { esc } from "./shared.js";
import { call, clearErrors, lengthProblem, problem, say, showErrors, t, when } from "./staff.js";

const deadList = document.getElementById("dead-letters");
const news = document.getElementById("news");
const office = news.dataset.office;
let lastDead = null;
let latestDead = 0; // polls and retries both reload the list: only the newest answer counts

// The dashboard (operations.js) polls the queue; the dead-letter list follows its count,
// re-rendered only when it changed, so a poll never pulls the button from under a clerk's finger.
document.addEventListener("operations", (ev) => {
  if (ev.detail.backlog.dead !== lastDead) loadDead();
});

function deadHtml(m) {
  const retry = t("staff.dead.retry");
  return `<li class="card dead" data-id="${esc(m.id)}">
    <p class="ref">${esc(m.key)}</p>
    <p class="meta">${esc(m.topic)} · ${esc(t("staff.dead.attempts", { n: m.attempts }))} ·
      <time datetime="${esc(m.dead_at)}">${esc(when(m.dead_at))}</time></p>
    <p class="reason">${esc(m.reason)}</p>
    <button type="button" data-retry="${esc(m.id)}" data-key="${esc(m.key)}">${esc(retry)}<span class="sr"> ${esc(m.key)}</span></button></li>`;
}

async function loadDead() {
  const request = ++latestDead;
  const res = await call("/api/v1/queue/dead");
  if (request !== latestDead) return;
  if (!res.ok) {
    document.getElementById("dead-err").textContent = problem(res);
    return;
  }
  const { count, results } = res.data;
  lastDead = count;
  deadList.innerHTML = results.map(deadHtml).join("");
  document.getElementById("dead-empty").hidden = results.length > 0;
  document.getElementById("dead-count").textContent =
    count > results.length ? t("staff.shown", { shown: results.length, count }) : "";
}

deadList.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-retry]");
  if (!button) return;
  button.disabled = true;
  document.getElementById("dead-err").textContent = "";
  const res = await call(`/api/v1/queue/dead/${encodeURIComponent(button.dataset.retry)}/retry`, { method: "POST" });
  const key = button.dataset.key;
  // 409: someone (another clerk, `manage.py queue retry-dead`) got there first. Not an error
  // for this clerk: the message is no longer dead, which is what they wanted.
  if (res.ok) say(t("staff.dead.retried", { key }));
  else if (res.status === 409) say(t("staff.dead.gone", { key }));
  else document.getElementById("dead-err").textContent = problem(res);
  await loadDead();
  await refreshAll();
  document.getElementById("dead-title").focus(); // the button is gone; keep the keyboard here
});

async function loadNews() {
  const res = await call(`/api/v1/offices/${encodeURIComponent(office)}/status`);
  if (!res.ok) return;
  const items = res.data.announcements || [];
  document.getElementById("news-list").innerHTML = items.map((a) => `<li class="card">
    <p>${esc(a.message)}</p><time class="meta" datetime="${esc(a.at)}">${esc(when(a.at))}</time></li>`).join("");
  document.getElementById("news-empty").hidden = items.length > 0;
}

news.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target, input = form.elements.message;
  clearErrors(form);
  const invalid = lengthProblem(input, 3, 500);
  if (invalid) return showErrors(form, { message: [invalid] });
  const submit = form.querySelector("[type=submit]");
  submit.disabled = true;
  const res = await call(`/api/v1/offices/${encodeURIComponent(office)}/announcements`,
    { method: "POST", body: { message: input.value.trim() } });
  submit.disabled = false;
  if (!res.ok) return showErrors(form, res.data.fields, res.data.fields ? "" : problem(res));
  input.value = "";
  say(t("staff.news.posted"));
  await loadNews();
});

document.addEventListener("langchange", () => { loadDead(); loadNews(); });
loadDead();
loadNews();
