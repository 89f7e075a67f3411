// Tangguh service worker, hand-written. frontend/views.py fills in the shell list and a
// version hash of its contents, so any change to the shell installs a new worker.
// Rules: the app shell (pages, CSS, JS, icons) is served cache-first so the app opens with no
// network; /api/ and staff pages are never cached (they carry personal data and access codes).
// ON_DEMAND files are needed by one page only (the receipt's QR library): they are not
// precached, but kept once a page has fetched them, and carried over to a new version.
const VERSION = "__SHELL_VERSION__";
const SHELL = "__SHELL_URLS__";
const ON_DEMAND = "__ON_DEMAND_URLS__";
const CACHE = `tangguh-shell-${VERSION}`;

importScripts("__OUTBOX_URL__");

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: "reload" skips the HTTP cache, so a new version never precaches old files.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload", credentials: "omit" })));
    for (const url of ON_DEMAND) {
      if (await caches.match(url)) await cache.add(new Request(url, { cache: "reload", credentials: "omit" })).catch(() => {});
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/staff") ||
      url.pathname.startsWith("/admin")) return;  // network only, never stored
  const onDemand = ON_DEMAND.includes(url.pathname);
  if (!SHELL.includes(url.pathname) && !onDemand) return;
  // Pages are matched without their query (/?draft=<uuid>), which never reaches the cache.
  event.respondWith((async () => {
    const cached = await caches.match(url.pathname, { cacheName: CACHE });
    if (cached || !onDemand) return cached || fetch(event.request);
    const response = await fetch(event.request);
    if (response.ok) await (await caches.open(CACHE)).put(url.pathname, response.clone());
    return response;
  })());
});

// Background Sync (Chromium): replay the outbox even with no tab open. A rejection asks the
// browser to try again later, which is what we want while items are still waiting.
self.addEventListener("sync", (event) => {
  if (event.tag !== "tangguh-outbox") return;
  event.waitUntil(self.TangguhOutbox.replay({ force: true }).then((left) => {
    if (left) throw new Error(`${left} applications still waiting`);
  }));
});

self.addEventListener("push", (e) => { const d = e.data.json(); e.waitUntil(registration.showNotification(d.title, { ...d, data: d })); });
self.addEventListener("notificationclick", (e) => { const d = e.notification.data; e.notification.close(); e.waitUntil(clients.openWindow(e.action ? d.stop_url : d.url)); });
