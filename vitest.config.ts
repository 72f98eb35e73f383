import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
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
