// Registers the service worker. A file, not an inline script: the CSP allows no inline script.
const { worker, scope } = document.currentScript.dataset;
navigator.serviceWorker?.register(worker, { scope });
