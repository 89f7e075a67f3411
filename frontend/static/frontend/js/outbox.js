// The phone's outbox: applications wait in IndexedDB until the office server acknowledges
// them. A classic script on purpose (no import/export): the service worker loads it with
// importScripts() for Background Sync, and pages import it as a module for its side effect.
// Every send carries the draft's Idempotency-Key, made when the draft was created, so any
// number of replays (page load, `online`, timer, sync event, two tabs) make one application.
// The key stays with the draft through corrections: the office keeps a key only together with
// an application it accepted, so a refused key is free to carry the corrected body.
(() => {
  const DB = "tangguh", CHANNEL = "tangguh";
  const BASE_MS = 2000, CAP_MS = 5 * 60 * 1000;
  let dbPromise = null;

  function open() {
    dbPromise ??= new Promise((resolve, reject) => {
      // v2 adds "files": dossier files kept with their draft until the office holds them.
      const req = indexedDB.open(DB, 2);
      req.onupgradeneeded = () => {
        const db = req.result, have = db.objectStoreNames;
        if (!have.contains("drafts")) db.createObjectStore("drafts", { keyPath: "key" });
        if (!have.contains("applications")) db.createObjectStore("applications", { keyPath: "reference" });
        if (!have.contains("files")) db.createObjectStore("files", { keyPath: "id" });
      };
      req.onsuccess = () => {
        // A newer page wants to upgrade: step aside (the next call here reopens).
        req.result.onversionchange = () => { req.result.close(); dbPromise = null; };
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    });
    return dbPromise;
  }

  // Run fn(stores...) in one transaction; resolves with fn's result once it has committed.
  async function tx(names, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction(names, mode);
      let result;
      Promise.resolve(fn(...names.map((n) => t.objectStore(n)))).then((r) => { result = r; });
      t.oncomplete = () => resolve(result);
      t.onerror = t.onabort = () => reject(t.error);
    });
  }
  const req = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const all = (store) => tx([store], "readonly", (s) => req(s.getAll()));
  const get = (store, key) => tx([store], "readonly", (s) => req(s.get(key)));
  const put = (store, value) => tx([store], "readwrite", (s) => req(s.put(value)));
  const del = (store, key) => tx([store], "readwrite", (s) => req(s.delete(key)));
  // Read-modify-write in one transaction: fn(current) returns the new value, or nothing to
  // leave it as it is. Two tabs, a replay and a keystroke never overwrite each other's change.
  const update = (store, key, fn) => tx([store], "readwrite", async (s) => {
    const next = fn(await req(s.get(key)));
    if (next) await req(s.put(next));
    return next;
  });

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // Plain-http LAN deployments have no randomUUID (secure contexts only): build a v4 UUID.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function notify() {
    if (self.BroadcastChannel) new BroadcastChannel(CHANNEL).postMessage("changed");
  }

  async function retryLater(draft, reason) {
    const attempts = (draft.attempts || 0) + 1;
    // Full jitter: a whole town's phones coming back online at once do not arrive together.
    const delay = Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** attempts);
    // Gone or no longer queued: acknowledged by another replay.
    await update("drafts", draft.key, (current) => current?.state === "queued" && {
      ...current, attempts, reason, last_try_at: new Date().toISOString(), next_try_at: Date.now() + delay });
  }

  // Acknowledged: in one transaction the draft and its personal data go, and only what is
  // needed to follow the application stays (reference, access code, office, status).
  function acknowledge(draft, data) {
    return tx(["drafts", "applications"], "readwrite", async (drafts, apps) => {
      drafts.delete(draft.key);
      const known = await req(apps.get(data.reference));
      apps.put({
        timeline: [], queue: null, ...known, reference: data.reference,
        access_code: data.access_code, office: draft.body.office, key: draft.key,
        status: known?.status ?? data.status, status_label: known?.status_label ?? data.status_label,
        submitted_at: data.submitted_at, fetched_at: known?.fetched_at ?? new Date().toISOString(),
      });
    });
  }

  async function sendOne(draft, language) {
    let res;
    try {
      res = await fetch("/api/v1/applications", {
        method: "POST", credentials: "omit", cache: "no-store",
        headers: { "Content-Type": "application/json", "Idempotency-Key": draft.key,
          "Accept-Language": language },
        body: JSON.stringify(draft.body),
      });
    } catch (e) {
      return retryLater(draft, self.navigator.onLine === false ? "offline" : "unreachable");
    }
    const data = await res.json().catch(() => ({}));
    if (res.status === 201 || res.status === 200) return acknowledge(draft, data);
    if (res.status >= 500 || res.status === 429 || res.status === 408 ||
        data.error === "idempotency_key_in_flight") return retryLater(draft, "busy");
    // Any other 4xx: the office refused this data; the applicant must correct it.
    await update("drafts", draft.key, (current) => current?.state === "queued" && {
      ...current, state: "failed", reason: null,
      error: { status: res.status, error: data.error || `http_${res.status}`,
        detail: data.detail || "", field_codes: data.field_codes || {}, fields: data.fields || {} } });
  }

  // Send every queued draft that is due (all of them when forced). Each stands alone: one
  // refusal or timeout never holds up the others. Web Locks keep two tabs and the service
  // worker from replaying at the same moment (harmless anyway, thanks to the key).
  async function replay({ force = false, language = "id" } = {}) {
    const run = async () => {
      const now = Date.now();
      const due = (await all("drafts")).filter((d) => d.state === "queued" &&
        (force || !d.next_try_at || d.next_try_at <= now));
      await Promise.all(due.map((d) => sendOne(d, language).catch(() => retryLater(d, "unreachable"))));
      if (due.length) notify();
      return (await all("drafts")).filter((d) => d.state === "queued").length;
    };
    return self.navigator.locks ? self.navigator.locks.request("tangguh-outbox", run) : run();
  }

  self.TangguhOutbox = { open, all, get, put, del, update, tx, newKey, notify, replay, CHANNEL };
})();
