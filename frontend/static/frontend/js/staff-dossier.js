// One application's dossier at the counter. The clerk opens each uploaded document (fetched
// with the staff session as a blob: the server sends it as a no-store attachment, nothing is
// cached), marks it checked against the original or refused with a reason the applicant sees,
// takes the photo with the counter PC's camera (a file as fallback) cropped to the 35 x 45 mm
// passport frame, and the signature on a canvas. Both go up with tus like the phone's files.
// Approval is refused by the server until the dossier is complete; its blockers are listed.
import { lang } from "./i18n.js";
import { esc } from "./shared.js";
import { call, problem, say, t as staffT } from "./staff.js";

const WORDS = {
  id: {
    "sd.title": "Berkas permohonan", "sd.back": "Kembali ke daftar permohonan", "sd.documents": "Dokumen",
    "sd.photo": "Pas foto", "sd.signature": "Tanda tangan", "sd.decision": "Keputusan",
    "sd.photo.hint": "Wajah di tengah bingkai, latar polos. Foto dipotong ke ukuran paspor 35 x 45 mm.",
    "sd.photo.file": "Atau pilih berkas foto", "sd.camera": "Nyalakan kamera", "sd.snap": "Ambil foto",
    "sd.photo.send": "Simpan foto", "sd.clear": "Ulangi", "sd.signature.send": "Simpan tanda tangan",
    "sd.signature.hint": "Pemohon menandatangani di kotak ini dengan pena atau jari.",
    "sd.no_camera": "Kamera tidak tersedia ({why}). Pilih berkas foto.",
    "sd.view": "Lihat", "sd.check": "Sesuai asli", "sd.refuse": "Tolak", "sd.reason": "Alasan penolakan",
    "sd.refuse.send": "Tolak dokumen", "sd.reason.needed": "Tulis alasannya: pemohon akan membacanya.",
    "sd.none": "Belum ada dokumen yang diunggah.", "sd.missing": "Masih kurang: {list}",
    "sd.complete": "Semua dokumen yang diperlukan sudah ada.",
    "st.received": "Belum diperiksa", "st.checked": "Sesuai asli", "st.refused": "Ditolak: {reason}",
    "sd.sending": "Mengunggah… {pct}%", "sd.saved": "Tersimpan di kantor.", "sd.failed": "Gagal mengunggah: {why}",
    "sd.have": "Sudah ada ({size}).",
    "sd.blocked": "Belum dapat disetujui:", "sd.approved": "{ref} disetujui.",
    "k.ktp": "KTP", "k.kk": "Kartu Keluarga (KK)", "k.birth_certificate": "Akta kelahiran",
    "k.diploma": "Ijazah", "k.marriage_certificate": "Buku nikah / akta perkawinan",
    "k.old_passport": "Paspor lama", "k.photo": "Pas foto", "k.signature": "Tanda tangan",
  },
  en: {
    "sd.title": "Application dossier", "sd.back": "Back to the applications", "sd.documents": "Documents",
    "sd.photo": "Photo", "sd.signature": "Signature", "sd.decision": "Decision",
    "sd.photo.hint": "Face in the middle of the frame, plain background. Cropped to the 35 x 45 mm passport size.",
    "sd.photo.file": "Or choose a photo file", "sd.camera": "Turn the camera on", "sd.snap": "Take the photo",
    "sd.photo.send": "Save the photo", "sd.clear": "Start again", "sd.signature.send": "Save the signature",
    "sd.signature.hint": "The applicant signs in this box with a pen or a finger.",
    "sd.no_camera": "No camera available ({why}). Choose a photo file.",
    "sd.view": "View", "sd.check": "Matches the original", "sd.refuse": "Refuse", "sd.reason": "Reason for refusal",
    "sd.refuse.send": "Refuse the document", "sd.reason.needed": "Write the reason: the applicant will read it.",
    "sd.none": "No documents uploaded yet.", "sd.missing": "Still missing: {list}",
    "sd.complete": "Every required document is there.",
    "st.received": "Not checked yet", "st.checked": "Matches the original", "st.refused": "Refused: {reason}",
    "sd.sending": "Uploading… {pct}%", "sd.saved": "Stored at the office.", "sd.failed": "Upload failed: {why}",
    "sd.have": "Already taken ({size}).",
    "sd.blocked": "Cannot be approved yet:", "sd.approved": "{ref} approved.",
    "k.ktp": "ID card (KTP)", "k.kk": "Family card (KK)", "k.birth_certificate": "Birth certificate",
    "k.diploma": "Diploma", "k.marriage_certificate": "Marriage certificate",
    "k.old_passport": "Old passport", "k.photo": "Photo", "k.signature": "Signature",
  },
};
const t = (key, vars = {}) => {
  const text = WORDS[lang()][key] ?? WORDS.id[key];
  return text === undefined ? staffT(key, vars) : text.replace(/\{(\w+)\}/g, (_, n) => vars[n] ?? "");
};
const $ = (id) => document.getElementById(id);
const reference = JSON.parse($("dossier-reference").textContent);
const base = `/api/v1/applications/${encodeURIComponent(reference)}`;
const kb = (n) => `${Math.max(1, Math.round(n / 1024))} KB`;
const groupLabel = (code) => code.split("|").map((k) => t(`k.${k}`)).join(" / ");
// 35 x 45 mm at 300 dpi.
const PHOTO_W = 413, PHOTO_H = 531;
let dossier = null, viewerUrl = null;

function localizePage() {
  for (const el of document.querySelectorAll("[data-sd]")) el.textContent = t(el.dataset.sd);
}

// --- documents ------------------------------------------------------------------------------

async function load() {
  const res = await call(base);
  if (!res.ok) return say(problem(res));
  dossier = res.data.dossier;
  render();
}

function fileHtml(f) {
  const counter = f.kind === "photo" || f.kind === "signature";
  const state = f.state === "refused" ? t("st.refused", { reason: f.refusal_reason }) : t(`st.${f.state}`);
  return `<li class="file" data-id="${f.id}" data-kind="${esc(f.kind)}" data-state="${esc(f.state)}">
    <strong>${esc(t(`k.${f.kind}`))}</strong> <span class="meta">${esc(f.media_type)}, ${kb(f.size)}</span>
    <span class="file-state">${esc(state)}</span>
    <div class="buttons"><button type="button" class="secondary" data-do="view">${esc(t("sd.view"))}</button>
    ${counter ? "" : `${f.state === "checked" ? "" : `<button type="button" data-do="check">${esc(t("sd.check"))}</button>`}
    <button type="button" class="secondary" data-do="refuse">${esc(t("sd.refuse"))}</button>`}</div>
    <form class="refuse" hidden novalidate><label for="reason-${f.id}">${esc(t("sd.reason"))}</label>
    <input id="reason-${f.id}" name="reason" maxlength="300" required>
    <p class="err" role="alert"></p><button type="submit">${esc(t("sd.refuse.send"))}</button></form></li>`;
}

function render() {
  if (!dossier) return;
  const documents = dossier.missing.filter((c) => c !== "photo" && c !== "signature");
  $("missing").textContent = documents.length ? t("sd.missing", { list: documents.map(groupLabel).join(", ") })
    : t("sd.complete");
  $("files").innerHTML = dossier.files.map(fileHtml).join("") || `<li>${esc(t("sd.none"))}</li>`;
  for (const [kind, id] of [["photo", "photo-state"], ["signature", "sign-state"]]) {
    const f = dossier.files.find((x) => x.kind === kind);
    // Taken earlier (not in this visit): say so; this visit's own upload says more.
    if (f && !$(id).textContent) $(id).textContent = t("sd.have", { size: kb(f.size) });
  }
}

// The file arrives as an attachment with no-store; shown here from a blob URL, freed after.
async function view(id) {
  const res = await fetch(`${base}/files/${id}/content`, { credentials: "same-origin", cache: "no-store" });
  if (!res.ok) return say(t("staff.err.generic", { status: res.status }));
  const blob = await res.blob();
  if (viewerUrl) URL.revokeObjectURL(viewerUrl);
  viewerUrl = URL.createObjectURL(blob);
  const viewer = $("viewer");
  viewer.hidden = false;
  viewer.innerHTML = blob.type === "application/pdf"
    ? `<a class="button" href="${viewerUrl}" target="_blank" rel="noopener">PDF</a>`
    : `<img src="${viewerUrl}" alt="${esc(t(`k.${dossier.files.find((f) => String(f.id) === id)?.kind}`))}">`;
}

async function review(id, result, reason = "") {
  const res = await call(`${base}/files/${id}/review`, { method: "POST", body: { result, reason } });
  if (!res.ok) return problem(res);
  await load();
  return "";
}

$("files").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-do]");
  if (!button) return;
  const item = button.closest("[data-id]"), id = item.dataset.id;
  if (button.dataset.do === "view") await view(id);
  else if (button.dataset.do === "check") say(await review(id, "checked"));
  else {
    const form = item.querySelector("form.refuse");
    form.hidden = false;
    form.querySelector("input").focus();
  }
});
$("files").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target, input = form.querySelector("input");
  if (!input.value.trim()) {
    form.querySelector(".err").textContent = t("sd.reason.needed");
    return input.focus();
  }
  form.querySelector(".err").textContent = await review(form.closest("[data-id]").dataset.id, "refused", input.value.trim());
});

// --- upload with tus (the staff session authenticates; CSRF as for every staff POST) ---------

let tusPromise = null;
function loadTus() {
  tusPromise ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL("../vendor/tus.min.js", import.meta.url).href;
    script.onload = () => resolve(self.tus);
    script.onerror = () => { tusPromise = null; reject(new Error("tus")); };
    document.head.append(script);
  });
  return tusPromise;
}

const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;

async function sha256Hex(blob) {
  // WebCrypto exists only in secure contexts: on a plain-http LAN, the vendored js-sha256.
  if (!crypto.subtle) return (await import("../vendor/sha256.min.mjs")).sha256.hex(await blob.arrayBuffer());
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(kind, blob, stateEl) {
  const tus = await loadTus();
  const sha256 = await sha256Hex(blob);
  await new Promise((resolve) => {
    const upload = new tus.Upload(blob, {
      endpoint: "/api/v1/uploads/", chunkSize: 256 * 1024, retryDelays: [0, 1000, 3000],
      storeFingerprintForResuming: false,
      metadata: { reference, kind, sha256, filetype: blob.type },
      headers: { "X-CSRFToken": csrf() },
      onProgress: (sent, total) => { stateEl.textContent = t("sd.sending", { pct: Math.floor((100 * sent) / total) }); },
      onSuccess: () => { stateEl.textContent = t("sd.saved"); resolve(); },
      onError: (err) => {
        let why = String(err.message || err);
        try { why = JSON.parse(err.originalResponse.getBody()).detail || why; } catch (e) { /* not JSON */ }
        stateEl.textContent = t("sd.failed", { why });
        resolve();
      },
    });
    upload.start();
  });
  await load();
}

// --- photo: camera (or a file) cropped to the passport frame ---------------------------------

const video = $("video"), photo = $("photo");
let stream = null, photoBlob = null;

function useFile(why) {
  $("camera-err").textContent = t("sd.no_camera", { why });
  $("photo-file-label").hidden = false;
  $("photo-file").hidden = false;
}

async function cameraOn() {
  if (!navigator.mediaDevices?.getUserMedia) return useFile("getUserMedia");
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 960 } } });
  } catch (e) {
    return useFile(e.name || "error");
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  $("snap").disabled = false;
}

// The largest 35:45 rectangle in the middle of the picture, scaled to 413 x 531 px.
function crop(source, width, height) {
  let w = width, h = (width * PHOTO_H) / PHOTO_W;
  if (h > height) { h = height; w = (height * PHOTO_W) / PHOTO_H; }
  photo.getContext("2d").drawImage(source, (width - w) / 2, (height - h) / 2, w, h, 0, 0, PHOTO_W, PHOTO_H);
  photo.hidden = false;
  photo.toBlob((blob) => { photoBlob = blob; $("photo-send").disabled = !blob; }, "image/jpeg", 0.92);
}

$("camera-on").addEventListener("click", cameraOn);
$("snap").addEventListener("click", () => {
  crop(video, video.videoWidth, video.videoHeight);
  stream?.getTracks().forEach((track) => track.stop());
  video.hidden = true;
  $("snap").disabled = true;
});
$("photo-file").addEventListener("change", async () => {
  const file = $("photo-file").files[0];
  if (!file) return;
  const bitmap = await createImageBitmap(file);
  crop(bitmap, bitmap.width, bitmap.height);
  bitmap.close();
});
$("photo-send").addEventListener("click", async () => {
  $("photo-send").disabled = true;
  await send("photo", photoBlob, $("photo-state"));
});

// --- signature: pointer events on a canvas (pen, finger or mouse) ----------------------------

const pad = $("signature"), ink = pad.getContext("2d");
let drawing = false, signed = false;

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  signed = false;
  $("sign-send").disabled = true;
}
function point(ev) {
  const box = pad.getBoundingClientRect();
  return [((ev.clientX - box.left) * pad.width) / box.width, ((ev.clientY - box.top) * pad.height) / box.height];
}
pad.addEventListener("pointerdown", (ev) => {
  drawing = true;
  pad.setPointerCapture(ev.pointerId);
  ink.beginPath();
  ink.moveTo(...point(ev));
});
pad.addEventListener("pointermove", (ev) => {
  if (!drawing) return;
  ink.lineWidth = 3;
  ink.lineCap = ink.lineJoin = "round";
  ink.strokeStyle = "#000";
  ink.lineTo(...point(ev));
  ink.stroke();
  signed = true;
});
pad.addEventListener("pointerup", () => { drawing = false; $("sign-send").disabled = !signed; });
$("sign-clear").addEventListener("click", clearPad);
$("sign-send").addEventListener("click", async () => {
  $("sign-send").disabled = true;
  const blob = await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
  await send("signature", blob, $("sign-state"));
});

// --- approval: the server says what is still missing ----------------------------------------

// Missing documents named in words (the server's detail lists codes); the rest as it says.
function blockerText(b) {
  const documents = (dossier?.missing || []).filter((c) => c !== "photo" && c !== "signature");
  return b.code === "documents_missing" && documents.length
    ? t("sd.missing", { list: documents.map(groupLabel).join(", ") }) : b.detail;
}

$("approve").addEventListener("click", async () => {
  const out = $("approve-err");
  out.innerHTML = "";  // an earlier answer must not stand for this one
  const res = await call(`${base}/approve`, { method: "POST", body: {} });
  if (res.ok) {
    out.innerHTML = "";
    say(t("sd.approved", { ref: reference }));
    $("approve").disabled = true;
    return;
  }
  const blockers = res.data.blockers || [];
  if (blockers.length) await load();
  out.innerHTML = blockers.length
    ? `<p>${esc(t("sd.blocked"))}</p><ul>${blockers.map((b) => `<li data-code="${esc(b.code)}">${esc(blockerText(b))}</li>`).join("")}</ul>`
    : `<p>${esc(problem(res))}</p>`;
});

document.addEventListener("langchange", () => { localizePage(); render(); });
localizePage();
clearPad();
load();
