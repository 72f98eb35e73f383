import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const require = createRequire(import.meta.url);

// Two projects: `unit` (Node; formulas, engine, CLI, learning) and `e2e` (the built app in a real
// Chromium, driven by playwright-core). `npm test` runs both; `npm run test:unit` / `npm run test:e2e`
// run one (`vitest run --project unit|e2e`).
// Runs the slowest unit test files first, so the two workers finish together instead of one waiting on
// a long file started last (without a cache of earlier durations the default order is by file size).
// Measured seconds on a 2-core machine; files not listed run after these, in the default order.
const SLOWEST = [
  'dead-knobs', // 44
  'agentic', // 43 before its guess test was shortened
  'presets', // 36
  'learning-reverse', // 32 before its default-preset test went from five seeds to two
  'export-pytorch', // 30
  'trainer', // 28
  'rlhf', // 25
  'learning-target', // 14
  'trpo', // 13
  'kl', // 12
  'snapshot', // 12
  'explain', // 11
  'cli', // 10
];

function rank(spec: TestSpecification): number {
  const name =
    spec.moduleId
      .split('/')
      .at(-1)
      ?.replace(/\.test\.ts$/, '') ?? '';
  const index = SLOWEST.indexOf(name);
  return index < 0 ? SLOWEST.length : index;
}

class HeaviestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // A stable sort: files of equal rank keep the base sequencer's order.
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec);
  }
}

export default defineConfig({
  // Compiles runes in .svelte.ts modules (UI state) for the unit tests.
  plugins: [svelte()],
  resolve: {
    // Load the same (CommonJS, Node) build of tfjs-core that the backends require, as plain Node
    // does; Vite would otherwise pick the ES build and the process would hold two copies.
    alias: [{ find: /^@tensorflow\/tfjs-core$/, replacement: require.resolve('@tensorflow/tfjs-core') }],
  },
  test: {
    environment: 'node',
    // tfjs keeps global state (backend registry, engine); a separate process per file isolates it.
    pool: 'forks',
    // tfjs-core's ES modules use extensionless imports; this hook lets Node resolve them (see the file).
    execArgv: ['--import', './scripts/node-tfjs-resolve.mjs'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/**'],
          testTimeout: 120_000,
          fileParallelism: true,
          // Vitest's default in run mode is (cores - 1), i.e. a single worker on a 2-core machine.
          maxWorkers: availableParallelism(),
          sequence: { sequencer: HeaviestFirst },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          // Builds the app once, serves dist/ on 127.0.0.1, provides baseURL and chromiumPath.
          globalSetup: ['test/e2e/global-setup.ts'],
          // One browser at a time: a training tab keeps a core busy, and the machine has two.
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
