import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // Compiles runes in .svelte.ts modules (UI state) for the unit tests.
  plugins: [svelte()],
  resolve: {
    // Load the same (CommonJS, Node) build of tfjs-core that the backends require, as plain Node
    // does; Vite would otherwise pick the ES build and the process would hold two copies.
    alias: [{ find: /^@tensorflow\/tfjs-core$/, replacement: require.resolve('@tensorflow/tfjs-core') }],
  },
  test: {
    // Named so that `npm run test:unit` (`vitest run --project unit`) matches this project.
    name: 'unit',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    // tfjs keeps global state (backend registry, engine); a separate process per file isolates it.
    pool: 'forks',
    // tfjs-core's ES modules use extensionless imports; this hook lets Node resolve them (see the file).
    execArgv: ['--import', './scripts/node-tfjs-resolve.mjs'],
    fileParallelism: true,
    // Vitest's default in run mode is (cores - 1), i.e. a single worker on a 2-core machine.
    maxWorkers: availableParallelism(),
  },
});
