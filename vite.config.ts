import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// No COOP/COEP headers on purpose: with cross-origin isolation tfjs-backend-wasm selects the
// threaded-SIMD binary, which hangs in a minified production build.
export default defineConfig({
  plugins: [svelte()],
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
