// Sending the phone's documents (see dossier.js): loaded only when online, so it and the 87 KB
// tus-js-client it fetches stay out of the precached offline shell. Each file goes up with tus in
// chunks; its upload URL is saved in IndexedDB, so after a cut, a closed tab or a reboot the next
// call asks the server (HEAD) how much it holds and sends only the rest.
import { outbox } from "./app.js";
import { changed, live, sha256Hex } from "./dossier.js";

// Small enough that a cut on a thin link loses little; the server keeps every whole chunk.
const CHUNK = 128 * 1024;
const TUS_URL = new URL("../vendor/tus.min.js", import.meta.url).href;
const { active, progress } = live;
let tusPromise = null, sending = null;

function loadTus() {
  tusPromise ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = TUS_URL;
    script.onload = () => resolve(self.tus);
    script.onerror = () => { tusPromise = null; reject(new Error("tus")); };
    document.head.append(script);
  });
  return tusPromise;
}

// One read-modify-write (outbox.update): tus callbacks that are not awaited (a chunk's offset)
// must not land after, and undo, the one that follows them (stored).
async function update(id, fields) {
  await outbox.update("files", id, (current) => current && { ...current, ...fields });
  changed();
}

function sendOne(tus, file, app) {
  return new Promise((resolve) => {
    const upload = new tus.Upload(file.blob, {
      endpoint: "/api/v1/uploads/",
      // Known from an earlier page: tus-js-client asks the server (HEAD) how much it holds and
      // sends only the rest; an expired or unknown upload is created anew.
      uploadUrl: file.upload_url || undefined,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000],
      storeFingerprintForResuming: false,  // the URL lives in IndexedDB with the file instead
      metadata: { reference: app.reference, kind: file.kind, sha256: file.sha256, filetype: file.media_type },
      headers: { "X-Access-Code": app.access_code },
      onBeforeRequest: (req) => { req.getUnderlyingObject().withCredentials = false; },
      onUploadUrlAvailable: () => update(file.id, { upload_url: upload.url, state: "uploading" }),
      onProgress: (sent) => { progress.set(file.id, sent); changed(); },
      onChunkComplete: (_size, accepted) => { progress.set(file.id, accepted); update(file.id, { offset: accepted }); },
      onSuccess: async () => {
        // The office holds every byte (it checked the SHA-256): the picture leaves the phone.
        await update(file.id, { blob: null, state: "stored", offset: file.size, upload_url: null,
          stored_at: new Date().toISOString() });
        document.dispatchEvent(new CustomEvent("dossierstored", { detail: app.reference }));
        resolve();
      },
      onError: async (err) => {
        const status = err.originalResponse?.getStatus?.() || 0;
        let body = {};
        try { body = JSON.parse(err.originalResponse.getBody()); } catch (e) { /* not JSON */ }
        // A refusal of the file itself (wrong type, damaged, too large): retrying cannot help.
        const refused = status >= 400 && status < 500 && ![404, 408, 409, 423, 429].includes(status);
        await update(file.id, refused
          ? { state: "refused", error: body.detail || body.error || `HTTP ${status}`, upload_url: null }
          : { state: "waiting" });
        resolve();
      },
    });
    active.set(file.id, upload);
    upload.start();
  }).finally(() => active.delete(file.id));
}

// Send every file whose application the office has acknowledged, one at a time (a thin link is
// better used by one stream). Web Locks keep two tabs from sending the same file.
export function sendFiles() {
  if (!navigator.onLine || sending) return sending;
  const run = async () => {
    const apps = await outbox.all("applications");
    const owners = new Map(apps.flatMap((a) => [[a.key, a], [a.reference, a]]));
    const due = (await outbox.all("files")).filter((f) => f.blob && owners.has(f.owner) &&
      ["kept", "waiting", "uploading"].includes(f.state));
    if (!due.length) return;
    const tus = await loadTus();
    for (const file of due) {
      if (!navigator.onLine) break;
      let fresh = await outbox.get("files", file.id);
      if (fresh?.blob && !fresh.sha256) {
        await update(file.id, { sha256: await sha256Hex(fresh.blob) });
        fresh = await outbox.get("files", file.id);
      }
      if (fresh?.blob && fresh.state !== "stored") await sendOne(tus, fresh, owners.get(file.owner));
    }
  };
  sending = (navigator.locks ? navigator.locks.request("tangguh-files", run) : run())
    .catch(() => {}).finally(() => { sending = null; });
  return sending;
}

