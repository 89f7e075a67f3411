// The applicant's documents on the phone. A photo or scan is re-encoded here (long side at most
// 1600 px, JPEG: smaller on a weak signal, and a canvas keeps no EXIF/GPS), hashed, and kept in
// IndexedDB ("files", under the draft's key) while offline. Once the office has acknowledged the
// application, dossier-send.js sends each with tus, resuming after any cut; when the office
// holds a file its bytes leave the phone and only a small "stored" note stays.
import { outbox } from "./app.js";
import { api } from "./api.js";
import { lang } from "./i18n.js";
import { esc } from "./shared.js";

const LONG_SIDE = 1600, JPEG_QUALITY = 0.85;
// The office's rules as shipped, until the phone has asked the server once.
const SHIPPED = {
  new: ["ktp", "kk", "birth_certificate|diploma|marriage_certificate"],
  renewal: ["ktp", "old_passport"],
  replacement_lost: ["ktp", "kk", "birth_certificate|diploma|marriage_certificate"],
  replacement_damaged: ["ktp", "kk", "old_passport"],
};

const WORDS = {
  id: {
    "k.ktp": "KTP", "k.kk": "Kartu Keluarga (KK)", "k.birth_certificate": "Akta kelahiran",
    "k.diploma": "Ijazah", "k.marriage_certificate": "Buku nikah / akta perkawinan",
    "k.old_passport": "Paspor lama", "k.photo": "Pas foto", "k.signature": "Tanda tangan",
    camera: "Foto dengan kamera", gallery: "Pilih dari galeri / PDF", remove: "Hapus",
    one_of: "Salah satu dari:", none: "Belum dilampirkan.",
    kept: "Tersimpan di ponsel ({size}), dikirim setelah permohonan diterima kantor.",
    waiting: "Menunggu sinyal untuk dikirim ({sent} dari {size}).",
    uploading: "Mengirim… {pct}% ({sent} dari {size})", stored: "Diterima kantor.",
    refused_send: "Kantor menolak berkas ini: {detail}", checked: "Sudah diperiksa petugas.",
    received: "Diterima kantor, menunggu pemeriksaan.", refused: "Ditolak: {reason}",
    missing: "Masih kurang: {list}", complete: "Semua dokumen sudah diterima kantor.",
    at_counter: "Pas foto dan tanda tangan diambil di loket.", preparing: "Menyiapkan berkas…",
    bad_file: "Berkas ini tidak bisa dibaca. Pilih foto (JPEG/PNG) atau PDF.",
  },
  en: {
    "k.ktp": "ID card (KTP)", "k.kk": "Family card (KK)", "k.birth_certificate": "Birth certificate",
    "k.diploma": "Diploma", "k.marriage_certificate": "Marriage certificate",
    "k.old_passport": "Old passport", "k.photo": "Photo", "k.signature": "Signature",
    camera: "Take a photo", gallery: "Choose from gallery / PDF", remove: "Remove",
    one_of: "One of:", none: "Not attached yet.",
    kept: "Kept on this phone ({size}); sent once the office has received the application.",
    waiting: "Waiting for a signal to send ({sent} of {size}).",
    uploading: "Sending… {pct}% ({sent} of {size})", stored: "Received by the office.",
    refused_send: "The office refused this file: {detail}", checked: "Checked by staff.",
    received: "Received by the office, waiting to be checked.", refused: "Refused: {reason}",
    missing: "Still missing: {list}", complete: "The office has every document.",
    at_counter: "Photo and signature are taken at the counter.", preparing: "Preparing the file…",
    bad_file: "This file cannot be read. Choose a photo (JPEG/PNG) or a PDF.",
  },
};

export function dt(key, vars = {}) {
  const text = WORDS[lang()][key] ?? WORDS.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
}

export const kindLabel = (kind) => dt(`k.${kind}`);
const groupLabel = (code) => code.split("|").map(kindLabel).join(" / ");
const kb = (n) => `${Math.max(1, Math.round((n || 0) / 1024))} KB`;
export const changed = () => document.dispatchEvent(new CustomEvent("dossierchange"));

// Document groups per application type: the server's when reachable, else the last known.
export async function requirements() {
  try {
    const { ok, data } = await api("/api/v1/requirements");
    if (ok && data.requirements) {
      localStorage.setItem("requirements", JSON.stringify(data.requirements));
      return data.requirements;
    }
  } catch (e) { /* offline: the last known list below */ }
  return JSON.parse(localStorage.getItem("requirements") || "null") || SHIPPED;
}

// WebCrypto exists only in secure contexts; on a plain-http office LAN the vendored js-sha256
// (MIT) does it, fetched then (sending needs the network anyway; see dossier-send.js).
export async function sha256Hex(blob) {
  const bytes = await blob.arrayBuffer();
  if (!crypto.subtle) return (await import("../vendor/sha256.min.mjs")).sha256.hex(bytes);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// A picture becomes a JPEG of at most 1600 px on its long side, drawn upright (EXIF orientation
// applied by createImageBitmap) and without any of its metadata. A PDF goes as it is.
export async function prepare(file) {
  let blob = file;
  if (file.type !== "application/pdf") {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  }
  // No WebCrypto (plain http): hashed by dossier-send.js before sending.
  const sha256 = crypto.subtle ? await sha256Hex(blob) : null;
  return { blob, media_type: blob.type || "application/pdf", size: blob.size, sha256 };
}

const filesOf = async (owner) => (await outbox.all("files")).filter((f) => f.owner === owner);

// Keep a new file for `owner` (a draft's key): it replaces one of the same kind not yet sent.
export async function attach(owner, kind, file) {
  const prepared = await prepare(file);
  for (const old of await filesOf(owner)) {
    if (old.kind === kind && old.state !== "stored") await forget(old);
  }
  await outbox.put("files", { id: outbox.newKey(), owner, kind, ...prepared, state: "kept",
    offset: 0, upload_url: null, created_at: new Date().toISOString() });
  changed();
  sendFiles();
}

export async function forget(file) {
  live.active.get(file.id)?.abort(true).catch(() => {});  // true: also ends the upload at the office
  live.active.delete(file.id);
  await outbox.del("files", file.id);
  changed();
}

// --- sending (dossier-send.js: fetched only when online, so not in the offline shell) ------

// Shared with dossier-send.js: uploads running in this page and the bytes the office holds.
export const live = { active: new Map(), progress: new Map() };

export function sendFiles() {
  if (!navigator.onLine) return Promise.resolve();
  return import("./dossier-send.js").then((m) => m.sendFiles()).catch(() => {});
}

// --- what the applicant sees ----------------------------------------------------------------

function localState(f) {
  const sent = live.progress.get(f.id) ?? f.offset ?? 0;
  if (f.state === "stored") return ["stored", dt("stored")];
  if (f.state === "refused") return ["refused", dt("refused_send", { detail: f.error })];
  if (live.active.has(f.id)) {
    return ["uploading", dt("uploading", { pct: Math.floor((100 * sent) / f.size), sent: kb(sent), size: kb(f.size) })];
  }
  if (f.state === "kept") return ["kept", dt("kept", { size: kb(f.size) })];
  return ["waiting", dt("waiting", { sent: kb(sent), size: kb(f.size) })];
}

// One row per document group: its local file (with progress) or the office's verdict, and the
// camera / gallery inputs. `server`: the application's "dossier" from the API, when known.
function groupHtml(code, files, server) {
  const kinds = code.split("|");
  const mine = files.filter((f) => kinds.includes(f.kind)).sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
  const theirs = server?.files?.find((f) => kinds.includes(f.kind));
  let state = "none", text = dt("none");
  if (mine && !(mine.state === "stored" && theirs)) [state, text] = localState(mine);
  else if (theirs) {
    state = theirs.state;
    text = theirs.state === "refused" ? dt("refused", { reason: theirs.refusal_reason }) : dt(theirs.state);
  }
  const done = state === "checked" || state === "received" || state === "stored";
  const choose = kinds.length > 1 ? `<label for="kind-${esc(code)}">${esc(dt("one_of"))}</label>
    <select id="kind-${esc(code)}" data-kind>${kinds.map((k) => `<option value="${esc(k)}"${mine?.kind === k ? " selected" : ""}>${esc(kindLabel(k))}</option>`).join("")}</select>` : "";
  const pct = mine && state === "uploading" ? Math.floor((100 * (live.progress.get(mine.id) ?? 0)) / mine.size) : null;
  return `<div class="doc" data-group="${esc(code)}" data-state="${esc(state)}">
    <p class="doc-name">${esc(groupLabel(code))}</p>${choose}
    <p class="doc-state" role="status">${esc(text)}</p>
    ${pct === null ? "" : `<progress max="100" value="${pct}"></progress>`}
    ${done && state !== "stored" ? "" : `<div class="doc-pick">
      <label class="button secondary">${esc(dt("camera"))}<input type="file" accept="image/*" capture="environment" data-source="camera" hidden></label>
      <label class="button secondary">${esc(dt("gallery"))}<input type="file" accept="image/*,application/pdf" data-source="gallery" hidden></label>
      ${mine && mine.state !== "stored" ? `<button type="button" class="secondary" data-remove="${esc(mine.id)}">${esc(dt("remove"))}</button>` : ""}
    </div>`}</div>`;
}

// Draw the document list for `owner` into `box` and keep it live. `groups()` returns the codes
// to show (they depend on the form's application type); `server()` the API's dossier, if any.
export function mountDocuments(box, owner, groups, server = () => null) {
  let drawing = Promise.resolve();
  const draw = () => {
    drawing = drawing.then(async () => {
      const files = await filesOf(owner());
      // Do not redraw under a file picker the applicant is using.
      if (box.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;
      box.innerHTML = (await groups()).map((code) => groupHtml(code, files, server())).join("");
    }).catch(() => {});
  };
  box.addEventListener("change", async (ev) => {
    const input = ev.target;
    if (input.type !== "file" || !input.files.length) return;
    const row = input.closest("[data-group]");
    const kind = row.querySelector("[data-kind]")?.value || row.dataset.group;
    row.querySelector(".doc-state").textContent = dt("preparing");
    try {
      await attach(owner(), kind, input.files[0]);
    } catch (e) {
      row.querySelector(".doc-state").textContent = dt("bad_file");
    }
  });
  box.addEventListener("click", async (ev) => {
    const id = ev.target.dataset?.remove;
    if (id) await forget(await outbox.get("files", id));
  });
  document.addEventListener("dossierchange", draw);
  document.addEventListener("langchange", draw);
  draw();
  return draw;
}

// The office's view of an application's files, for the receipt and "my applications".
export function missingHtml(server) {
  if (!server) return "";
  const docs = server.missing.filter((c) => c !== "photo" && c !== "signature");
  const refused = server.files.filter((f) => f.state === "refused")
    .map((f) => `<li>${esc(kindLabel(f.kind))}: ${esc(dt("refused", { reason: f.refusal_reason }))}</li>`);
  return `<div class="dossier-status">${docs.length
    ? `<p class="missing">${esc(dt("missing", { list: docs.map(groupLabel).join(", ") }))}</p>`
    : `<p>${esc(dt("complete"))}</p>`}${refused.length ? `<ul class="refused">${refused.join("")}</ul>` : ""}
    <p class="meta">${esc(dt("at_counter"))}</p></div>`;
}

addEventListener("online", sendFiles);
setInterval(sendFiles, 15000);
sendFiles();
