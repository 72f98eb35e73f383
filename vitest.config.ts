import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const require = createRequire(import.meta.url);

// Two projects: `unit` (Node; formulas, engine, CLI, learning) and `e2e` (the built app in a real
// Chromium, driven by playwright-core). `npm test` runs both, the unit project first; `npm run test:unit`
// / `npm run test:e2e` run one (`vitest run --project unit|e2e`).
// Runs the slowest unit test files first, so the two workers finish together instead of one waiting on
// a long file started last (without a cache of earlier durations the default order is by file size).
// Measured seconds on a 2-core machine (2026-11-30); files not listed run after these, in the default order.
const SLOWEST = [
  'trainer', // 20
  'dead-knobs', // 19
  'export-pytorch', // 18
  'presets', // 15
  'sweep', // 14
  'rlhf', // 11
  'agentic', // 9
  'trpo', // 7
  'link-fuzz', // 6
  'snapshot', // 5
  'learning-reverse', // 5
  'learning-target', // 5
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
    // Worker processes rather than threads: tfjs keeps global state (backend registry, engine) per process.
    pool: 'forks',
    // tfjs-core's ES modules use extensionless imports; this hook lets Node resolve them (see the file).
    execArgv: ['--import', './scripts/node-tfjs-resolve.mjs'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // A worker process runs file after file, keeping the modules it imported (tfjs and its wasm
          // among them): 56 s of imports fall to 23 s. Each file starts its backend in beforeAll and
          // counts tensors and kernels relative to where it began, so no file depends on a fresh process
          // (checked in three file orders, two of them shuffled).
          isolate: false,
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
          // Closes the browser each file's tests share (test/e2e/browser.ts says why they share one).
          setupFiles: ['test/e2e/per-file.ts'],
          // One browser at a time: a training tab keeps a core busy, and the machine has two.
          fileParallelism: false,
          maxWorkers: 1,
          // One process runs every e2e file in turn (each closes its browser after its last test): a
          // process per file cost ~1.5 s of start-up and imports each. A one-worker project runs in a
          // group of its own, after the unit project's.
          isolate: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
