// The instructors' gallery: every lesson, run headless on wasm for its stated number of updates (each
// arm, on the preset's seed), shows its claim in numbers; every link decodes cleanly; and the CLI
// reproduces a lesson's numbers exactly.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_BY_KEY, FIELDS, defaultConfig } from '../src/engine/config';
import { metricsRow, type MetricName, type Metrics } from '../src/engine/metrics';
import { createTrainer } from '../src/engine/trainer';
import { findPreset, LESSONS, PRESETS, type Lesson } from '../src/presets';
import { decodeLink } from '../src/share/link';
import { meanOf, startBackend } from './support/engine';

interface ArmRun {
  history: Metrics[];
  /** Per update: the share of the batch's answers that are exactly right (the word, then <eos>). */
  exact: number[];
}

// Arms shared by several lessons (the same link for the same number of updates) run once.
const runs = new Map<string, Promise<ArmRun>>();

function runArm(link: string, updates: number): Promise<ArmRun> {
  const key = `${updates}|${link}`;
  let run = runs.get(key);
  if (!run) {
    run = train(link, updates);
    runs.set(key, run);
  }
  return run;
}

async function train(link: string, updates: number): Promise<ArmRun> {
  const { config } = decodeLink(link);
  // Every episode decoded, to count exact answers; decoding changes nothing in the run.
  const trainer = createTrainer(config, { samples: config.batchSize });
  const run: ArmRun = { history: [], exact: [] };
  try {
    for (let i = 0; i < updates; i++) {
      const { metrics, samples } = await trainer.step();
      run.history.push(metrics);
      // A score of 1, dense or sparse, means the exact answer followed by <eos>.
      run.exact.push(samples.filter((s) => s.score === 1).length / samples.length);
    }
    return run;
  } finally {
    trainer.dispose();
  }
}

/** Mean of a metric over updates `from`–`to` (1-based, inclusive). */
function over(run: ArmRun, name: MetricName, from: number, to: number): number {
  return meanOf(run.history.slice(from - 1, to), name);
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function armsOf(lesson: Lesson): readonly { label: string; link: string }[] {
  return lesson.arms ?? [{ label: lesson.name, link: lesson.link }];
}

async function runLesson(lesson: Lesson): Promise<ArmRun[]> {
  const result: ArmRun[] = [];
  for (const arm of armsOf(lesson)) result.push(await runArm(arm.link, lesson.updates));
  return result;
}

const r3 = (x: number) => x.toFixed(3);

/**
 * Each lesson's claim (its `lesson` line) as numbers. Margins are about half of what the runs show on
 * the preset's seed; the measured values are logged so a change in the engine that erodes a lesson is
 * visible before it breaks.
 */
const CHECKS: Record<string, (arms: ArmRun[], n: number, lesson: Lesson) => void> = {
  'first-policy-gradient': ([run], n) => {
    const first = over(run, 'reward/score', 1, 5);
    const last = over(run, 'reward/score', n - 4, n);
    console.log(`first-policy-gradient: score ${r3(first)} (updates 1–5) -> ${r3(last)} (${n - 4}–${n})`);
    expect(first).toBeLessThan(0.3);
    expect(last).toBeGreaterThan(0.9);
  },
  baselines: ([none, batchMean], n) => {
    const without = over(none, 'reward/score', n - 9, n);
    const withBaseline = over(batchMean, 'reward/score', n - 9, n);
    console.log(`baselines: score ${n - 9}–${n}: none ${r3(without)}, batch-mean ${r3(withBaseline)}`);
    expect(withBaseline).toBeGreaterThan(without + 0.1);
  },
  'critic-gae-lambda': ([lambda0, lambda1], n) => {
    const zero = over(lambda0, 'reward/score', n - 9, n);
    const one = over(lambda1, 'reward/score', n - 9, n);
    console.log(`critic-gae-lambda: score ${n - 9}–${n}: λ=0 ${r3(zero)}, λ=1 ${r3(one)}`);
    expect(one).toBeGreaterThan(zero + 0.4);
  },
  'ppo-epochs': ([one, four], n) => {
    const scoreOne = over(one, 'reward/score', 1, n);
    const scoreFour = over(four, 'reward/score', 1, n);
    const clipOne = over(one, 'policy/clipfrac', 1, n);
    const clipFour = over(four, 'policy/clipfrac', 1, n);
    console.log(
      `ppo-epochs: score 1–${n}: 1 epoch ${r3(scoreOne)}, 4 epochs ${r3(scoreFour)}; clipfrac ${r3(clipOne)} vs ${r3(clipFour)}`,
    );
    expect(scoreFour).toBeGreaterThan(scoreOne + 0.2);
    expect(clipFour).toBeGreaterThan(3 * clipOne);
  },
  'kl-penalty': ([beta0, beta02], n) => {
    const entropy0 = over(beta0, 'policy/entropy', n - 4, n);
    const entropy02 = over(beta02, 'policy/entropy', n - 4, n);
    const kl0 = over(beta0, 'kl/ref', n - 4, n);
    const kl02 = over(beta02, 'kl/ref', n - 4, n);
    console.log(
      `kl-penalty: ${n - 4}–${n}: entropy β=0 ${r3(entropy0)}, β=0.2 ${r3(entropy02)}; KL β=0 ${r3(kl0)}, β=0.2 ${r3(kl02)}`,
    );
    expect(entropy0).toBeLessThan(entropy02 - 0.5);
    expect(kl0).toBeGreaterThan(kl02 + 2);
  },
  temperature: ([t1, t2], n) => {
    const entropy1 = over(t1, 'policy/entropy', n - 4, n);
    const entropy2 = over(t2, 'policy/entropy', n - 4, n);
    console.log(`temperature: entropy ${n - 4}–${n}: T=1 ${r3(entropy1)}, T=2 ${r3(entropy2)}`);
    expect(entropy2).toBeGreaterThan(entropy1 + 0.4);
  },
  'adaptive-kl': ([fixed, adaptive], n, lesson) => {
    const target = decodeLink(lesson.arms?.[1].link ?? '').config.klTarget;
    const klFixed = over(fixed, 'kl/ref', n - 19, n);
    const klAdaptive = over(adaptive, 'kl/ref', n - 19, n);
    const betas = adaptive.history.map((m) => m['kl/beta']);
    const span = Math.max(...betas) / Math.min(...betas);
    console.log(
      `adaptive-kl: KL ${n - 19}–${n}: fixed ${r3(klFixed)}, adaptive ${r3(klAdaptive)} (target ${target}); β from ${r3(betas[0])} over ${r3(Math.min(...betas))}–${r3(Math.max(...betas))} to ${r3(betas.at(-1) ?? NaN)}`,
    );
    expect(Math.abs(klAdaptive - target)).toBeLessThan(0.3);
    expect(span).toBeGreaterThan(2);
    expect(klFixed).toBeGreaterThan(3);
  },
  'reward-hacking': ([beta0, beta01], n) => {
    const peakOf = (run: ArmRun) =>
      Math.max(...run.history.slice(4).map((_, i) => over(run, 'reward/gold', i + 1, i + 5)));
    const proxyStart = over(beta0, 'reward/score', 1, 5);
    const proxyEnd = over(beta0, 'reward/score', n - 4, n);
    const [peak0, peak01] = [peakOf(beta0), peakOf(beta01)];
    const [gold0, gold01] = [over(beta0, 'reward/gold', n - 4, n), over(beta01, 'reward/gold', n - 4, n)];
    console.log(
      `reward-hacking: β=0 proxy ${r3(proxyStart)} -> ${r3(proxyEnd)}, gold peak ${r3(peak0)} -> end ${r3(gold0)} (KL ${r3(over(beta0, 'kl/ref', n - 4, n))}); β=0.1 gold peak ${r3(peak01)} -> end ${r3(gold01)} (KL ${r3(over(beta01, 'kl/ref', n - 4, n))})`,
    );
    expect(proxyEnd).toBeGreaterThan(proxyStart + 0.2);
    expect(gold0).toBeLessThan(peak0 - 0.3);
    expect(gold01).toBeGreaterThan(peak01 - 0.1);
  },
  guess: ([run], n) => {
    const first = over(run, 'episode/turns', 1, 10);
    const last = over(run, 'episode/turns', n - 19, n);
    console.log(`guess: mean turns ${r3(first)} (updates 1–10) -> ${r3(last)} (${n - 19}–${n})`);
    expect(last).toBeLessThanOrEqual(Math.log2(16) + 2);
    expect(last).toBeLessThan(first - 0.5);
  },
  calculator: ([on, off], n) => {
    const [scoreOn, scoreOff] = [over(on, 'reward/score', n - 24, n), over(off, 'reward/score', n - 24, n)];
    const calls = over(on, 'episode/tool_calls', n - 24, n);
    console.log(
      `calculator: score ${n - 24}–${n}: tools on ${r3(scoreOn)} (${r3(calls)} calls per episode), tools off ${r3(scoreOff)}`,
    );
    expect(scoreOn).toBeGreaterThanOrEqual(0.9);
    expect(calls).toBeGreaterThanOrEqual(0.9);
    expect(scoreOff).toBeLessThan(scoreOn - 0.5);
  },
  retry: ([feedback, blanks], n) => {
    const [withFeedback, withBlanks] = [over(feedback, 'reward/score', 41, n), over(blanks, 'reward/score', 41, n)];
    console.log(`retry: score 41–${n}: feedback ${r3(withFeedback)}, blanks ${r3(withBlanks)}`);
    expect(withFeedback).toBeGreaterThan(withBlanks + 0.3);
  },
  'sparse-reward': ([dense, sparse], n) => {
    const exactDense = mean(dense.exact.slice(n - 10, n));
    const exactSparse = mean(sparse.exact.slice(n - 10, n));
    console.log(`sparse-reward: exact answers ${n - 9}–${n}: dense ${r3(exactDense)}, sparse ${r3(exactSparse)}`);
    expect(exactDense).toBeGreaterThan(exactSparse + 0.5);
  },
};

describe('preset gallery: links and shape', () => {
  it('every preset and every arm decodes with zero notices', () => {
    for (const preset of PRESETS) {
      expect(decodeLink(preset.link).notices, preset.name).toEqual([]);
      for (const arm of preset.arms ?? [])
        expect(decodeLink(arm.link).notices, `${preset.name}/${arm.label}`).toEqual([]);
    }
  });

  it('links are written as the app shares them: schema keys in schema order, non-default values only', () => {
    const defaults = defaultConfig() as unknown as Record<string, unknown>;
    const order = FIELDS.map((f) => f.key as string);
    for (const preset of PRESETS) {
      for (const link of [preset.link, ...(preset.arms ?? []).map((a) => a.link)]) {
        const pairs = link
          .slice(1)
          .split('&')
          .map((p) => p.split('='));
        expect(pairs[0], link).toEqual(['v', '1']);
        const keys = pairs.slice(1).map(([k]) => k);
        for (const key of keys) expect(FIELD_BY_KEY.has(key), `${link}: ${key}`).toBe(true);
        expect(keys, link).toEqual([...keys].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
        const config = decodeLink(link).config as unknown as Record<string, unknown>;
        for (const key of keys) expect(config[key], `${link}: ${key}`).not.toEqual(defaults[key]);
      }
    }
  });

  it('names are unique, `default` is the plain default link, and findPreset finds each', () => {
    const names = PRESETS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(findPreset('default')?.link).toBe('#v=1');
    for (const name of names) expect(findPreset(name)?.name).toBe(name);
    expect(findPreset('no-such-preset')).toBeUndefined();
  });

  it('the gallery has at least 8 lessons, each with 2–4 sentences, a claim, a length and consistent arms', () => {
    expect(LESSONS.length).toBeGreaterThanOrEqual(8);
    for (const lesson of LESSONS) {
      expect(PRESETS, lesson.name).toContain(lesson);
      const sentences = lesson.summary.split(/(?<=[.!?:])\s+(?=[A-Z])/).length;
      expect(sentences, lesson.name).toBeGreaterThanOrEqual(2);
      expect(sentences, lesson.name).toBeLessThanOrEqual(4);
      expect(lesson.lesson.length, lesson.name).toBeGreaterThan(10);
      expect(Number.isInteger(lesson.updates) && lesson.updates > 0, lesson.name).toBe(true);
      if (lesson.arms) {
        expect(lesson.arms.length, lesson.name).toBe(2);
        expect(lesson.arms[0].link, lesson.name).toBe(lesson.link);
        // The same seed in both arms: a comparison changes only the knob it teaches.
        const [a, b] = lesson.arms.map((arm) => decodeLink(arm.link).config);
        expect(a.seed, lesson.name).toBe(b.seed);
      }
      expect(CHECKS[lesson.name], `a numeric check for ${lesson.name}`).toBeDefined();
    }
  });
});

describe('preset gallery: each lesson shows its claim (wasm, the preset seed)', () => {
  beforeAll(() => startBackend('wasm'));

  for (const lesson of LESSONS) {
    const arms = lesson.arms ? `${lesson.arms.length} arms × ` : '';
    it(`${lesson.name}: ${lesson.lesson} (${arms}${lesson.updates} updates)`, async () => {
      const check = CHECKS[lesson.name];
      expect(check).toBeDefined();
      check(await runLesson(lesson), lesson.updates, lesson);
    });
  }
});

const execFileAsync = promisify(execFile);
const TRAIN = ['--import', './scripts/node-tfjs-resolve.mjs', '--import', 'tsx', 'src/cli/train.ts'];

describe('the CLI replays a gallery preset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'presets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Everything but wall-clock quantities, as JSON would write it. */
  const comparable = (row: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'time_s' && !k.startsWith('perf/')));

  it('`--preset first-policy-gradient --backend cpu --updates 3` writes the same numbers as createTrainer(link) on cpu', async () => {
    const name = 'first-policy-gradient';
    const preset = findPreset(name);
    expect(preset).toBeDefined();
    const out = join(dir, 'metrics.jsonl');
    // The CLI (its own process) and the in-process run go side by side.
    const cli = execFileAsync('node', [...TRAIN, '--preset', name, '--backend', 'cpu', '--updates', '3', '--out', out]);
    await startBackend('cpu');
    const expected: Record<string, unknown>[] = [];
    try {
      const trainer = createTrainer(decodeLink(preset?.link ?? '').config);
      try {
        for (let i = 0; i < 3; i++) {
          const { metrics } = await trainer.step();
          expected.push(comparable(JSON.parse(JSON.stringify(metricsRow(metrics))) as Record<string, unknown>));
        }
      } finally {
        trainer.dispose();
      }
    } finally {
      await startBackend('wasm');
    }
    await cli;
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => comparable(JSON.parse(line) as Record<string, unknown>));
    expect(rows).toHaveLength(3);
    expect(rows[0]['reward/score']).toEqual(expect.any(Number));
    expect(rows).toEqual(expected);
  });
});
