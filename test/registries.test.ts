// Contracts every registered task and algorithm must keep, looped over the registries, so a new entry
// is tested without editing a list here: its spec is consistent with the schema, a run of every task ×
// algorithm pair trains without a leak and reports the metrics its spec promises, and no code outside
// a task's own file asks for a task by name (so a task really is one file plus one registry line).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHM_REGISTRY } from '../src/engine/algorithms';
import { ALGORITHM_SPECS } from '../src/engine/algorithms/specs';
import { ALGORITHMS, FIELD_BY_KEY, FIELDS, promptTokens, TASKS, validate } from '../src/engine/config';
import { presence } from '../src/engine/applicability';
import { createTask, TASK_SPECS } from '../src/engine/tasks';
import { EOS } from '../src/engine/tokens';
import { tf } from '../src/engine/tf';
import { createTrainer } from '../src/engine/trainer';
import { startBackend } from './support/engine';

describe.each(TASKS)('task %s: its spec', (name) => {
  const spec = TASK_SPECS[name];
  // Agentic tasks with a fixed turn layout repair maxNewTokens and contextLength up to it.
  const { config } = validate({ task: name });

  it('validates cleanly once repaired, and its name and help reach the schema', () => {
    expect(validate(config).problems).toEqual([]);
    expect(spec.name).toBe(name);
    expect(FIELD_BY_KEY.get('task')?.help).toContain(spec.help);
  });

  it('builds a task whose vocabulary holds its actions, <eos> among them, and whose prompt fits the buffer', () => {
    const task = createTask(config);
    expect(task.name).toBe(name);
    expect(task.actions).toContain(EOS);
    for (const id of task.actions) expect(id).toBeLessThan(task.vocab.size);
    expect(spec.vocabulary(config).tokens).toEqual(task.vocab.tokens);
    // A run's buffer: <bos>, the prompt, <sep>, then maxNewTokens; the minimum answer fits with its last token.
    expect(config.contextLength).toBeGreaterThanOrEqual(2 + promptTokens(config) + config.maxNewTokens);
    expect(config.maxNewTokens).toBeGreaterThanOrEqual(spec.minAnswer(config) + 1);
  });

  it('owns and ignores only settings of the schema: its own are shown here and hidden under other tasks', () => {
    for (const key of [...(spec.owns?.keys ?? []), ...Object.keys(spec.ignores ?? {})])
      expect(FIELDS.map((f) => f.key)).toContain(key);
    for (const key of spec.owns?.keys ?? []) {
      expect(presence(key, config).state).not.toBe('hidden');
      for (const other of TASKS.filter((t) => t !== name))
        expect(presence(key, validate({ task: other }).config).state).toBe('hidden');
    }
    for (const key of Object.keys(spec.ignores ?? {}) as (keyof typeof config)[])
      expect(presence(key, config)).toEqual({ state: 'disabled', reason: spec.ignores?.[key] });
  });
});

describe.each(ALGORITHMS)('algorithm %s: its spec', (name) => {
  it('is the spec its implementation carries, and its help reaches the schema', () => {
    expect(ALGORITHM_REGISTRY[name].spec).toBe(ALGORITHM_SPECS[name]);
    expect(FIELD_BY_KEY.get('algorithm')?.help).toContain(ALGORITHM_SPECS[name].help);
  });
});

describe('every task × algorithm trains on wasm', () => {
  beforeAll(() => startBackend('wasm'));

  // Small and short: the contract, not learning (learning has its own tests and lessons).
  const pairs = TASKS.flatMap((task) => ALGORITHMS.map((algorithm) => [task, algorithm] as const));
  it.each(pairs)(
    '%s with %s: 3 updates, the metrics its specs promise, no tensor left after dispose',
    async (task, algorithm) => {
      const before = tf.memory().numTensors;
      const trainer = createTrainer({
        task,
        algorithm,
        batchSize: 8,
        sftSteps: 2,
        rmSteps: 4,
        comparisons: 8,
        minibatches: 2,
        seed: 3,
      });
      let metrics = (await trainer.step()).metrics;
      for (let i = 0; i < 2; i++) metrics = (await trainer.step()).metrics;
      trainer.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(metrics.update).toBe(3);
      // The task's own score (gold) is in [0, 1]; a reward model's proxy is normalised instead.
      expect(metrics['reward/gold']).toBeGreaterThanOrEqual(0);
      expect(metrics['reward/gold']).toBeLessThanOrEqual(1);
      expect(Number.isFinite(metrics['loss/policy'])).toBe(true);
      expect(Number.isFinite(metrics['value/explained_variance'])).toBe(ALGORITHM_SPECS[algorithm].hasCritic);
      expect(Number.isFinite(metrics['rm/loss'])).toBe(TASK_SPECS[task].usesRewardModel);
    },
  );
});

describe('a task is one file plus one registry line', () => {
  /** Every .ts and .svelte file under `dir`. */
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return sources(path);
      return /\.(ts|svelte)$/.test(entry) ? [path] : [];
    });

  it('no code outside src/engine/tasks/ branches on a task’s name', () => {
    // Presets and lessons name tasks in their links (data, not branches); the schema names its default.
    const branches = sources('src')
      .filter((path) => !path.startsWith(join('src', 'engine', 'tasks')))
      .flatMap((path) =>
        readFileSync(path, 'utf8')
          .split('\n')
          .map((line, i) => ({ where: `${path}:${i + 1}`, line }))
          .filter(({ line }) =>
            /task\s*[!=]==?\s*['"]|case\s+['"](target|reverse|sort|preference|guess|calculator|retry)['"]/.test(line),
          ),
      );
    expect(branches.map((b) => `${b.where}: ${b.line.trim()}`)).toEqual([]);
  });
});
