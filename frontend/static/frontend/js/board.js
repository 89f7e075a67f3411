// The office service board, polled while open. The last board is kept in localStorage (it
// holds nothing personal) so the page still says something useful offline.
import "./app.js";
import { api, offices } from "./api.js";
import { t, when } from "./i18n.js";
import { age, esc } from "./shared.js";

const select = document.getElementById("board-office"), box = document.getElementById("board");

function render(b, fetchedAt, fresh) {
  const services = ["registration", "express", "printing", "pickup"].map((name) => {
    const s = b.services[name];
    return `<li class="${s.available ? "ok" : "down"}" data-service="${name}"><strong>${esc(t(`board.${name}`))}</strong>
      <span>${esc(t(s.available ? "board.open" : "board.closed"))}</span>${s.note ? `<p>${esc(s.note)}</p>` : ""}</li>`;
  }).join("");
  const news = b.announcements.map((a) => `<li><p>${esc(a.message)}</p><time>${esc(when(a.at))}</time></li>`).join("");
  box.innerHTML = `<h2>${esc(b.office.name)}</h2>
    <p class="central ${esc(b.central.state)}" id="central" data-state="${esc(b.central.state)}">${esc(t("board.central"))}:
      <strong>${esc(t(`central.${b.central.state}`))}</strong>${b.central.since ? ` · ${esc(when(b.central.since))}` : ""}</p>
    <ul class="services">${services}</ul>
    <p id="backlog">${esc(t("board.backlog", { n: b.backlog.waiting_for_central }))}${b.backlog.oldest_age_seconds ? `, ${esc(t("board.oldest", { age: age(b.backlog.oldest_age_seconds) }))}` : ""}</p>
    ${news ? `<h3>${esc(t("board.news"))}</h3><ul class="news">${news}</ul>` : ""}
    <p class="meta">${esc(t("last_fetched", { at: when(fetchedAt) }))}${fresh ? "" : ` · ${esc(t("stale"))}`}</p>`;
}

async function load() {
  const code = select.value;
  if (!code) return;
  localStorage.setItem("office", code);
  try {
    const { ok, data } = await api(`/api/v1/offices/${encodeURIComponent(code)}/status`);
    if (ok) {
      const saved = { board: data, at: new Date().toISOString() };
      localStorage.setItem(`board:${code}`, JSON.stringify(saved));
      return render(data, saved.at, true);
    }
  } catch (e) { /* offline: show the last board */ }
  const saved = JSON.parse(localStorage.getItem(`board:${code}`) || "null");
  if (saved) render(saved.board, saved.at, false);
}

for (const o of await offices()) select.add(new Option(`${o.name} (${o.code})`, o.code));
select.value = localStorage.getItem("office") || select.value;
select.addEventListener("change", load);
document.addEventListener("langchange", load);
await load();
setInterval(load, 15000);
