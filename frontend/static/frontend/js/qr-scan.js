// Reading the receipt's QR code (it holds the application's reference, nothing else) from the
// counter camera or from a picture. The browser's own BarcodeDetector where it reads QR codes,
// else the vendored jsQR (Apache-2.0), fetched only the first time it is needed: it is large
// and most pages never scan.
import { cleanReference } from "./counter-common.js";

const JSQR_URL = new URL("../vendor/jsQR-1.4.0.js", import.meta.url).href;
let detector; // Promise<BarcodeDetector|null>
let jsqr; // Promise<function>

async function nativeDetector() {
  if (!("BarcodeDetector" in self)) return null;
  try {
    const formats = await self.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new self.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

function loadJsQR() {
  jsqr ??= new Promise((resolve, reject) => {
    if (self.jsQR) return resolve(self.jsQR);
    const script = document.createElement("script"); // a UMD build: it sets self.jsQR
    script.src = JSQR_URL;
    script.onload = () => resolve(self.jsQR);
    script.onerror = () => { jsqr = undefined; reject(new Error("jsQR did not load")); };
    document.head.append(script);
  });
  return jsqr;
}

// Which reader this browser uses ("native" or "jsqr"); shown to the clerk, asserted in tests.
export async function reader() {
  detector ??= nativeDetector();
  return (await detector) ? "native" : "jsqr";
}

// The text of the first QR code on the canvas, or null.
export async function decodeCanvas(canvas) {
  detector ??= nativeDetector();
  const native = await detector;
  if (native) {
    const codes = await native.detect(canvas).catch(() => []);
    return codes[0]?.rawValue ?? null;
  }
  const decode = await loadJsQR();
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return decode(image.data, image.width, image.height, { inversionAttempts: "dontInvert" })?.data ?? null;
}

// A picture (a photo of the receipt, a screenshot sent by the applicant) drawn on the canvas and
// read. Large photos are scaled down first: decoding cost grows with the pixels.
export async function decodeFile(file, canvas) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 1200 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  // A white margin first: a QR cropped to its edge still needs its quiet zone to be found.
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return decodeCanvas(canvas);
}

// The camera, read a few times a second until a code is found or stop() is called.
// onStatus("starting"|"scanning"|"denied"|"unavailable"); onCode(text) once.
export function scanCamera(video, canvas, { onCode, onStatus }) {
  let stream = null, timer = null, stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream?.getTracks() || []) track.stop();
    video.srcObject = null;
  };
  (async () => {
    if (!navigator.mediaDevices?.getUserMedia) return onStatus("unavailable");
    onStatus("starting");
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        { video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false });
    } catch (e) {
      return onStatus(e?.name === "NotAllowedError" ? "denied" : "unavailable");
    }
    if (stopped) return stop();
    video.srcObject = stream;
    await video.play().catch(() => {});
    onStatus("scanning");
    const tick = async () => {
      if (stopped) return;
      if (video.videoWidth) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        canvas.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0);
        canvas.dataset.frames = String(+(canvas.dataset.frames || 0) + 1);
        const text = await decodeCanvas(canvas).catch(() => null);
        if (text && !stopped) {
          stop();
          return onCode(text);
        }
      }
      timer = setTimeout(tick, 250);
    };
    tick();
  })();
  return stop;
}

// The scan controls both counter pages share (#scan-video, #scan-canvas, #scan-status,
// #scan-start, #scan-stop, #scan-file): the camera on and off, a picture instead, and a
// receipt's reference handed to `onReference`. `words(key, vars)` gives the page's texts.
const RECEIPT_REFERENCE = /^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$/;

export function mountScanner({ onReference, words }) {
  const video = document.getElementById("scan-video");
  const canvas = document.getElementById("scan-canvas");
  const status = document.getElementById("scan-status");
  const startBtn = document.getElementById("scan-start");
  const stopBtn = document.getElementById("scan-stop");
  let stopCamera = null;

  function scanned(text) {
    const reference = cleanReference(text);
    if (!RECEIPT_REFERENCE.test(reference)) {
      status.textContent = words("c.scan.foreign");
      return;
    }
    status.textContent = words("c.scan.read", { ref: reference });
    onReference(reference);
  }

  function cameraOff() {
    stopCamera?.();
    stopCamera = null;
    video.hidden = stopBtn.hidden = true;
    startBtn.hidden = false;
  }

  startBtn.addEventListener("click", async () => {
    startBtn.hidden = true;
    stopBtn.hidden = video.hidden = false;
    status.dataset.reader = await reader();
    stopCamera = scanCamera(video, canvas, {
      onCode: (text) => { cameraOff(); scanned(text); },
      onStatus: (state) => {
        status.dataset.state = state;
        status.textContent = words(`c.scan.${state}`);
        if (state === "denied" || state === "unavailable") cameraOff();
      },
    });
  });
  stopBtn.addEventListener("click", () => { cameraOff(); status.textContent = ""; });
  document.getElementById("scan-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    status.textContent = words("c.scan.reading");
    const text = await decodeFile(file, canvas).catch(() => null);
    ev.target.value = ""; // the picture is not kept
    if (text) scanned(text);
    else status.textContent = words("c.scan.none");
  });
  addEventListener("pagehide", cameraOff);
}
