/// <reference types="vite-plugin-pwa/vanillajs" />
// The service worker (generated at build time by vite-plugin-pwa, see vite.config.ts) keeps the app
// usable offline. A new deployment installs in the background and waits: `updateAvailable` turns true,
// UpdateNotice offers a Reload, and only that click activates it. In the dev server this is a no-op.
import { registerSW } from 'virtual:pwa-register';
import { writable, type Readable } from 'svelte/store';

/** How often an open tab asks the server for a new version (a tab can stay open for a whole course). */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

const available = writable(false);
/** True once a new version is installed and waiting for the user's Reload. */
export const updateAvailable: Readable<boolean> = { subscribe: available.subscribe };

/** Registers the service worker (after the page's load event); call once, from main.ts. */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  registerSW({
    onNeedRefresh: () => available.set(true),
    // The plugin would reload whenever a new version takes control, even when another tab's Reload
    // activated it mid-run here. This tab reloads only when its own user asks (reloadIntoUpdate).
    onNeedReload: () => {},
    onRegisteredSW: (_url, registration) => {
      if (!registration) return;
      // Offline the check fails; the next one retries.
      setInterval(() => registration.update().catch(() => {}), UPDATE_CHECK_MS);
    },
    onRegisterError: (error: unknown) => console.warn('Offline use is unavailable:', error),
  });
}

/** Activates the waiting version and reloads this tab into it. */
export async function reloadIntoUpdate(): Promise<void> {
  const waiting = (await navigator.serviceWorker.getRegistration())?.waiting;
  // Another tab may have activated it already: then it controls this page and a reload is enough.
  if (!waiting) return location.reload();
  navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
  // The generated worker calls skipWaiting() on this message (vite-plugin-pwa's 'prompt' mode).
  waiting.postMessage({ type: 'SKIP_WAITING' });
}
