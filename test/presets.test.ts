// The instructors' gallery: every lesson, run headless on wasm for its stated number of updates (each
// arm, on the preset's seed), shows its claim in numbers (src/lessons/claims.ts, shared with
// `npm run lessons`, which runs seeds 1–5); every link decodes cleanly; and the CLI reproduces a
// lesson's numbers exactly.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_BY_KEY, FIELDS } from '../src/engine/config';
import { METRIC_NAMES, metricsRow, type Metrics } from '../src/engine/metrics';
import { createTrainer } from '../src/engine/trainer';
import { CLAIMS, type ArmRun } from '../src/lessons/claims';
import { resultsMarkdown, summaryLine, type LessonReport } from '../src/lessons/report';
import { runLesson } from '../src/lessons/run';
import { findPreset, LESSONS, PRESETS } from '../src/presets';
import { decodeLink, defaultsOfVersion, LINK_VERSION } from '../src/share/link';
import { startBackend } from './support/engine';

// Arms shared by several lessons (the same link, updates and seed) run once.
const cache = new Map<string, Promise<ArmRun>>();

describe('preset gallery: links and shape', () => {
  it('every preset and every arm decodes with zero notices', () => {
    for (const preset of PRESETS) {
      expect(decodeLink(preset.link).notices, preset.name).toEqual([]);
      for (const arm of preset.arms ?? [])
        expect(decodeLink(arm.link).notices, `${preset.name}/${arm.label}`).toEqual([]);
    }
  });

  it('links are written as the app shares them: schema keys in schema order, non-default values only', () => {
    // A lesson measured under older defaults keeps its link's version: it keeps meaning what was measured.
    const order = FIELDS.map((f) => f.key as string);
    for (const preset of PRESETS) {
      for (const link of [preset.link, ...(preset.arms ?? []).map((a) => a.link)]) {
        const pairs = link
          .slice(1)
          .split('&')
          .map((p) => p.split('='));
        expect(pairs[0][0], link).toBe('v');
        const version = Number(pairs[0][1]);
        // Any version up to today's: a preset measured under older defaults keeps its version.
        expect(Number.isInteger(version) && version >= 1 && version <= LINK_VERSION, link).toBe(true);
        const defaults = defaultsOfVersion(version) as unknown as Record<string, unknown>;
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
    expect(findPreset('default')?.link).toBe(`#v=${LINK_VERSION}`);
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
        expect(lesson.arms.length, lesson.name).toBeGreaterThanOrEqual(2);
        expect(lesson.arms.length, lesson.name).toBeLessThanOrEqual(4);
        expect(lesson.arms[0].link, lesson.name).toBe(lesson.link);
        // The same seed in every arm: a comparison changes only the knob it teaches.
        const seeds = lesson.arms.map((arm) => decodeLink(arm.link).config.seed);
        expect(new Set(seeds).size, lesson.name).toBe(1);
      }
      expect(CLAIMS[lesson.name], `a claim check for ${lesson.name} in src/lessons/claims.ts`).toBeDefined();
    }
  });
});

describe('lesson claims and lessons/RESULTS.md, on made-up runs', () => {
  /** A run whose every update has these metric values (the rest NaN). */
  const fakeRun = (rows: Partial<Metrics>[]): ArmRun => ({
    history: rows.map((row, i) => ({
      ...(Object.fromEntries(METRIC_NAMES.map((n) => [n, Number.NaN])) as Metrics),
      update: i + 1,
      ...row,
    })),
    exact: rows.map(() => 0),
  });
  const first = LESSONS.find((l) => l.name === 'first-policy-gradient');
  if (!first) throw new Error('first-policy-gradient is a lesson');
  const context = { lesson: first, updates: 10, configs: [decodeLink(first.link).config] };

  it('first-policy-gradient holds at 0.2 → 0.95 and fails at 0.2 → 0.85, naming the failed condition', () => {
    // Updates 1–5 at 0.2, updates 6–10 at 0.95 (or 0.85): the windows are 1–5 and 6–10 for 10 updates.
    const scores = (end: number) => [...Array(5).fill(0.2), ...Array(5).fill(end)].map((s) => ({ 'reward/score': s }));
    const good = CLAIMS['first-policy-gradient']([fakeRun(scores(0.95))], context);
    expect(good.numbers).toEqual({ 'score 1–5': expect.closeTo(0.2, 12), 'score 6–10': expect.closeTo(0.95, 12) });
    expect(good.held).toBe(true);
    const bad = CLAIMS['first-policy-gradient']([fakeRun(scores(0.85))], context);
    expect(bad.held).toBe(false);
    expect(bad.conditions.map((c) => c.held)).toEqual([true, false]);
    expect(bad.text).toContain('did not hold (score 6–10 > 0.9)');
  });

  it('the summary counts seeds that held and gives each number’s range over the seeds', () => {
    const claim = (x: number, held: boolean) => ({
      numbers: { x },
      conditions: [{ text: 'x ≥ 0.2', held }],
      held,
      text: '',
    });
    const line = summaryLine([
      { seed: 1, claim: claim(0.1, false) },
      { seed: 2, claim: claim(0.3, true) },
      { seed: 3, claim: claim(0.25, true) },
      { seed: 4, error: 'crashed' },
    ]);
    expect(line).toBe('Held on 2 of 4 seeds (1 seed failed to run); x ranges over 0.100–0.300.');
  });

  it('a run of some lessons replaces their sections in RESULTS.md and keeps the others, in gallery order', () => {
    const [a, b, c] = LESSONS;
    const header = { command: 'npm run lessons', date: '2000-01-01', backend: 'wasm', commit: 'commit x', seeds: [1] };
    const report = (lesson: typeof a, x: number): LessonReport => ({
      lesson,
      arms: 1,
      seeds: [{ seed: 1, claim: { numbers: { x }, conditions: [], held: true, text: '' } }],
      provenance: `run ${x}`,
    });
    const before = resultsMarkdown(header, LESSONS, [report(a, 1), report(b, 2)]);
    const after = resultsMarkdown(header, LESSONS, [report(c, 3), report(a, 4)], before);
    const sections = after.split('<!-- lesson: ').slice(1);
    expect(sections.map((s) => s.slice(0, s.indexOf(' -->')))).toEqual([a.name, b.name, c.name]);
    expect(sections[0]).toContain('x ranges over 4.000–4.000');
    expect(sections[1]).toContain('x ranges over 2.000–2.000');
    expect(sections[2]).toContain('x ranges over 3.000–3.000');
  });
});

describe('preset gallery: each lesson shows its claim (wasm, the preset seed)', () => {
  beforeAll(() => startBackend('wasm'));

  // Heavy lessons (minutes per arm) are checked by `npm run lessons`; see the RESULTS.md test below.
  for (const lesson of LESSONS.filter((l) => !l.heavy)) {
    const arms = lesson.arms ? `${lesson.arms.length} arms × ` : '';
    it(`${lesson.name}: ${lesson.lesson} (${arms}${lesson.updates} updates)`, async () => {
      const { claim } = await runLesson(lesson, { cache });
      // The measured numbers, so a change in the engine that erodes a lesson shows before it breaks.
      console.log(claim.text);
      expect(
        claim.conditions.filter((c) => !c.held).map((c) => c.text),
        claim.text,
      ).toEqual([]);
      expect(claim.held).toBe(true);
    });
  }
});

describe('heavy lessons: their evidence is in lessons/RESULTS.md', () => {
  const results = readFileSync('lessons/RESULTS.md', 'utf8');
  const heavy = LESSONS.filter((l) => l.heavy);

  it.each(heavy.map((l) => [l.name, l] as const))(
    '%s: its section states the current claim and held on at least 4 of 5 seeds',
    (name, lesson) => {
      const start = results.indexOf(`<!-- lesson: ${name} -->`);
      expect(start, `no section for ${name}: run npm run lessons -- --lesson ${name}`).toBeGreaterThanOrEqual(0);
      const next = results.indexOf('<!-- lesson: ', start + 1);
      const section = results.slice(start, next < 0 ? undefined : next);
      // The claim measured is the claim the gallery shows, with its updates.
      expect(section).toContain(`**Claim:** ${lesson.lesson}`);
      expect(section).toContain(`${lesson.updates} updates on seeds`);
      const held = /Held on (\d+) of (\d+) seeds/.exec(section);
      expect(held, section).not.toBeNull();
      expect(Number(held?.[1])).toBeGreaterThanOrEqual(4);
    },
  );
});

const execFileAsync = promisify(execFile);
const TRAIN = ['--import', './scripts/node-tfjs-resolve.mjs', '--import', 'tsx', 'src/cli/train.ts'];

describe('the CLI replays a gallery preset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'presets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Everything but wall-clock quantities, as JSON would write it. */
  const comparable = (row: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'time_s' && !k.startsWith('perf/')));

  it('`--preset first-policy-gradient --updates 3` (wasm) writes the same numbers as createTrainer(link) on wasm', async () => {
    const name = 'first-policy-gradient';
    const preset = findPreset(name);
    expect(preset).toBeDefined();
    const out = join(dir, 'metrics.jsonl');
    // The CLI (its own process) and the in-process run go side by side.
    const cli = execFileAsync('node', [
      ...TRAIN,
      '--preset',
      name,
      '--backend',
      'wasm',
      '--updates',
      '3',
      '--out',
      out,
    ]);
    // wasm is deterministic across processes (the lessons' seeds reproduce run to run), and ~5× faster than cpu.
    await startBackend('wasm');
    const expected: Record<string, unknown>[] = [];
    const trainer = createTrainer(decodeLink(preset?.link ?? '').config);
    try {
      for (let i = 0; i < 3; i++) {
        const { metrics } = await trainer.step();
        expected.push(comparable(JSON.parse(JSON.stringify(metricsRow(metrics))) as Record<string, unknown>));
      }
    } finally {
      trainer.dispose();
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
