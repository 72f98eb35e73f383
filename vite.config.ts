import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';

// The built page's Content-Security-Policy: scripts and workers only from the page's own origin (no
// inline script, no eval), WebAssembly allowed, nothing fetched from elsewhere. Even a future rendering
// mistake then cannot run text from a link. Build only: the dev server injects inline scripts.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  // Svelte writes style attributes (chart sizes, bars); no stylesheet comes from elsewhere.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' data: blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'content-security-policy',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY },
        injectTo: 'head-prepend',
      },
    ],
  };
}

// Offline once loaded: a Workbox service worker generated at build time precaches the whole app (pages,
// chunks, the training and self-test workers, the wasm binaries, the icon), so a reload without a network still trains.
// 'prompt': a new deployment waits until the user presses Reload in UpdateNotice.svelte, never mid-run.
// Registered from src/app/pwa.ts (virtual:pwa-register), not an inline script, so the CSP holds.
function offlineCache(): Plugin[] {
  return VitePWA({
    registerType: 'prompt',
    injectRegister: false,
    // Relative to the page: the app may be served under any sub-path.
    scope: './',
    manifest: false,
    workbox: {
      globPatterns: ['**/*.{html,js,css,wasm,svg}'],
      // Workbox's default (2 MiB) would silently leave a larger chunk or wasm binary out of the cache.
      maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
      // '?backend=wasm' and the like still open the cached page when offline.
      navigateFallback: 'index.html',
      cleanupOutdatedCaches: true,
      // The first visit is served from the cache as soon as it is filled (a backend loaded later too).
      // An update still waits for Reload: it is installed, not activated, until the user asks.
      clientsClaim: true,
    },
    devOptions: { enabled: false },
  });
}

// No COOP/COEP headers on purpose: with cross-origin isolation tfjs-backend-wasm selects the
// threaded-SIMD binary, which hangs in a minified production build.
export default defineConfig({
  // Relative URLs for every asset, worker and wasm binary: the build works at any path of any static
  // host (e.g. a GitHub Pages project site, https://<user>.github.io/<repo>/).
  base: './',
  plugins: [svelte(), contentSecurityPolicy(), offlineCache()],
  worker: {
    format: 'es',
  },
  optimizeDeps: {
    // Only the app's own entry: scratch pages must not be scanned.
    entries: ['index.html', 'selftest.html'],
  },
  build: {
    target: 'es2022',
    // The playground and the backend self-test page (do this machine's backends agree?).
    rollupOptions: {
      input: { main: 'index.html', selftest: 'selftest.html' },
      // Workbox writing the service worker takes a few seconds after the bundle; that is expected, not
      // worth a "[PLUGIN_TIMINGS]" warning on every `npm start`.
      checks: { bundlerTimings: false },
    },
  },
});
