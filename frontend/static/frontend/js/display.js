// The waiting-room display: polls the office's public feed and shows the latest call big, the
// ones before it, and how many wait per lane. Each new call (call_id) is announced once, aloud
// in Indonesian with the browser's speech where it exists. Nothing here is personal: the feed
// holds numbers and counters only.
import { lang, t as appT } from "./i18n.js";
import { WORDS } from "./counter-words.js";
import { esc } from "./shared.js";

const t = (key, vars = {}) => (WORDS[lang()][key] ?? WORDS.id[key] ?? appT(key))
  .replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
const root = document.getElementById("display");
const office = root.dataset.office;
const POLL_MS = 2500;
let announced = null; // the highest call_id already announced (null: first load, say nothing)
let soundOn = false;
let lastOk = 0;

function localize() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const toggle = document.getElementById("lang-toggle");
  toggle.textContent = lang() === "en" ? "ID" : "EN";
  document.getElementById("sound").textContent = t(soundOn ? "d.sound_off" : "d.sound_on");
}

// "A-012" read as "A, nol satu dua"? No: people hear numbers as numbers: "A dua belas".
function spoken(number, counter) {
  const [letter, digits] = number.split("-");
  return t("d.say", { letter, number: String(Number(digits)), counter });
}

function speak(text) {
  root.dataset.lastSpoken = text; // what was (or would have been) said, for eyes and tests
  if (!soundOn || !("speechSynthesis" in self)) return;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = "id-ID"; // announcements are in Indonesian whatever the screen's language
  utterance.rate = 0.9;
  const voice = speechSynthesis.getVoices().find((v) => v.lang.replace("_", "-").startsWith("id"));
  if (voice) utterance.voice = voice;
  speechSynthesis.speak(utterance);
}

function render(feed) {
  const [now, ...before] = feed.calls;
  document.getElementById("now-number").textContent = now ? now.number : "–";
  document.getElementById("now-counter").textContent = now ? now.counter : "–";
  root.dataset.callId = now ? String(now.call_id) : "";
  document.getElementById("recent").innerHTML = before.slice(0, 6).map((c) =>
    `<li><span class="number">${esc(c.number)}</span> <span class="counter">${esc(t("d.counter_short", { counter: c.counter }))}</span></li>`).join("");
  document.getElementById("waiting").innerHTML = Object.entries(feed.waiting).map(([lane, n]) =>
    `<div data-lane="${esc(lane)}"><dt>${esc(t(`c.lane.${lane}`))}</dt><dd>${Number(n)}</dd></div>`).join("");
  // Oldest first, so two calls between polls are heard in the order they were made.
  const fresh = feed.calls.filter((c) => announced !== null && c.call_id > announced).reverse();
  for (const c of fresh) speak(spoken(c.number, c.counter));
  announced = Math.max(announced ?? 0, ...feed.calls.map((c) => c.call_id));
}

async function poll() {
  try {
    const res = await fetch(`/api/v1/offices/${encodeURIComponent(office)}/display`,
      { cache: "no-store", headers: { "Accept-Language": lang() } });
    if (res.ok) {
      render(await res.json());
      lastOk = Date.now();
    }
  } catch { /* the network blinked: keep showing the last numbers */ }
  const stale = lastOk && Date.now() - lastOk > 15000;
  document.getElementById("display-state").textContent = stale ? t("d.stale") : "";
  setTimeout(poll, POLL_MS);
}

function clock() {
  document.getElementById("clock").textContent = new Date().toLocaleTimeString(
    lang() === "en" ? "en-GB" : "id-ID", { hour: "2-digit", minute: "2-digit" });
}

document.getElementById("sound").addEventListener("click", () => {
  soundOn = !soundOn;
  if (soundOn) speak(t("d.sound_test"));
  localize();
});
document.getElementById("lang-toggle").addEventListener("click", () => {
  localStorage.setItem("lang", lang() === "en" ? "id" : "en");
  localize();
});
localize();
clock();
setInterval(clock, 10000);
poll();
