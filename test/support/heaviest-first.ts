// Runs the slowest unit test files first, so the two workers finish together instead of one waiting on
// a long file started last (the default order, without a cache of earlier durations, is by file size).
// Measured durations on a 2-core machine, in seconds; files not listed run after these, in the default order.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

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

export default class HeaviestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // A stable sort: files of equal rank keep the base sequencer's order.
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec);
  }
}
