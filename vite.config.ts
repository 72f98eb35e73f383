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
    // The wasm backend locates its .wasm files relative to its own module URL; pre-bundling breaks that.
    exclude: ['@tensorflow/tfjs-backend-wasm'],
  },
  build: {
    target: 'es2022',
  },
});
