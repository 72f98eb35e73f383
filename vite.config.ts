import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

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

// No COOP/COEP headers on purpose: with cross-origin isolation tfjs-backend-wasm selects the
// threaded-SIMD binary, which hangs in a minified production build.
export default defineConfig({
  // Relative URLs for every asset, worker and wasm binary: the build works at any path of any static
  // host (e.g. a GitHub Pages project site, https://<user>.github.io/<repo>/).
  base: './',
  plugins: [svelte(), contentSecurityPolicy()],
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
    rollupOptions: { input: { main: 'index.html', selftest: 'selftest.html' } },
  },
});
