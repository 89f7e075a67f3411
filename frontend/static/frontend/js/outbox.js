// The phone's outbox: applications wait in IndexedDB until the office acknowledges them. A
// classic script: the service worker importScripts() it for Background Sync, pages import it.
// Every send carries the draft's Idempotency-Key (made with the draft, kept through
// corrections: the office keeps a key only with an application it accepted), so any number of
// replays (page load, `online`, timer, sync event, two tabs) make one application.
(() => {
  const DB = "tangguh", CHANNEL = "tangguh";
  const BASE_MS = 2000, CAP_MS = 5 * 60 * 1000;
  let dbPromise = null;

  function open() {
    dbPromise ??= new Promise((resolve, reject) => {
      // v2: "files" (kept with their draft until the office holds them); v3: "keys" (below).
      const req = indexedDB.open(DB, 3);
      req.onupgradeneeded = () => {
        const db = req.result, have = db.objectStoreNames;
        if (!have.contains("drafts")) db.createObjectStore("drafts", { keyPath: "key" });
        if (!have.contains("applications")) db.createObjectStore("applications", { keyPath: "reference" });
        if (!have.contains("files")) db.createObjectStore("files", { keyPath: "id" });
        if (!have.contains("keys")) db.createObjectStore("keys", { keyPath: "id" });
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
  const rawAll = (store) => tx([store], "readonly", (s) => req(s.getAll()));
  const rawGet = (store, key) => tx([store], "readonly", (s) => req(s.get(key)));
  const rawPut = (store, value) => tx([store], "readwrite", (s) => req(s.put(value)));
  const del = (store, key) => tx([store], "readwrite", (s) => req(s.delete(key)));

  // Drafts and files are sealed at rest: AES-GCM, a non-extractable CryptoKey kept in "keys".
  // Only record ids stay clear. No WebCrypto (plain http): clear.
  const SEALED = { drafts: "key", files: "id" };
  const enc = new TextEncoder(), dec = new TextDecoder();
  let keyPromise = null;
  const locked = (fn) => self.navigator?.locks ? self.navigator.locks.request("tangguh-sealed", fn) : fn();
  const aes = (iv, ad) => ({ name: "AES-GCM", iv, additionalData: ad });
  const adOf = (store, id) => enc.encode(`${store}:${id}`);

  function deviceKey() {
    if (!self.crypto?.subtle) return Promise.resolve(null);
    keyPromise ??= (async () => {
      const fresh = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false,
        ["encrypt", "decrypt"]);
      const key = await tx(["keys"], "readwrite", async (s) => {  // the first one stored wins
        const have = await req(s.get("device"));
        if (!have) s.put({ id: "device", key: fresh });
        return have ? have.key : fresh;
      });
      // Seal older clear records, under the lock updates take.
      await locked(async () => {
        for (const store in SEALED) {
          for (const r of await rawAll(store)) if (!r.sealed) await rawPut(store, await sealWith(key, store, r));
        }
      });
      return key;
    })();
    keyPromise.catch(() => { keyPromise = null; });
    return keyPromise;
  }

  async function encrypt(key, bytes, ad) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    return [iv, await crypto.subtle.encrypt(aes(iv, ad), key, bytes)];
  }

  async function sealWith(key, store, { blob, ...rest }) {
    const id = rest[SEALED[store]], ad = adOf(store, id), out = { [SEALED[store]]: id, sealed: 1 };
    if (blob instanceof Blob) {
      rest.blob_type = blob.type;
      [out.blob_iv, out.blob] = await encrypt(key, await blob.arrayBuffer(), ad);
    } else rest.blob = blob;
    [out.iv, out.data] = await encrypt(key, enc.encode(JSON.stringify(rest)), ad);
    return out;
  }

  async function unseal(store, r) {
    if (!r?.sealed) return r;
    const key = await deviceKey(), ad = adOf(store, r[SEALED[store]]);
    try {
      const value = JSON.parse(dec.decode(await crypto.subtle.decrypt(aes(r.iv, ad), key, r.data)));
      if (r.blob) value.blob = new Blob([await crypto.subtle.decrypt(aes(r.blob_iv, ad), key, r.blob)], { type: value.blob_type });
      delete value.blob_type;
      return value;
    } catch (e) {
      return undefined;  // the key is gone: so is the record
    }
  }

  const all = async (store) => {
    if (!SEALED[store]) return rawAll(store);
    await deviceKey();
    return (await Promise.all((await rawAll(store)).map((r) => unseal(store, r)))).filter(Boolean);
  };
  const get = async (store, key) => (SEALED[store] && await deviceKey(), unseal(store, await rawGet(store, key)));
  const put = async (store, value) => {
    const key = SEALED[store] && await deviceKey();
    return rawPut(store, key ? await sealWith(key, store, value) : value);
  };
  // Read-modify-write: fn(current) gives the new value, or nothing. Atomic across tabs and the
  // worker by a Web Lock (WebCrypto is async: a waiting IndexedDB transaction would commit).
  const update = async (store, key, fn) => {
    await deviceKey();  // outside the lock (sealing takes it)
    return locked(async () => {
      const next = fn(await get(store, key));
      if (next) await put(store, next);
      return next;
    });
  };

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
  // Locked: an update cannot put the draft back.
  function acknowledge(draft, data) {
    return locked(() => tx(["drafts", "applications"], "readwrite", async (drafts, apps) => {
      drafts.delete(draft.key);
      const known = await req(apps.get(data.reference));
      apps.put({
        timeline: [], queue: null, ...known, reference: data.reference,
        access_code: data.access_code, office: draft.body.office, key: draft.key,
        status: known?.status ?? data.status, status_label: known?.status_label ?? data.status_label,
        submitted_at: data.submitted_at, fetched_at: known?.fetched_at ?? new Date().toISOString(),
      });
    }));
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

  self.TangguhOutbox = { open, all, get, put, del, update, tx, newKey, notify, replay, CHANNEL,
    sealed: deviceKey };
})();
