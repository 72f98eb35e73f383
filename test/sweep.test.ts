// `npm run sweep` (issue 19): the grid's parsing and combinations, the summary's numbers on made-up
// runs, the plot's shape, and a tiny sweep end to end — run, resumed without rerunning, and refused
// when a finished run's settings differ.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';
import { parseSweepArgs } from '../src/cli/sweep';
import { combinations, parseAxis, parseSeeds, sweepRuns, type GridAxis } from '../src/sweep/grid';
import { curves, DEFAULT_SUMMARY, summaryCsv, summaryRow, summarySvg, updatesTo } from '../src/sweep/summary';

function history(scores: number[], extra: Partial<Metrics> = {}): Metrics[] {
  return scores.map((score, i) => {
    const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, Number.NaN])) as Metrics;
    return {
      ...m,
      update: i + 1,
      'reward/score': score,
      'kl/ref': i,
      'policy/entropy': 1,
      'perf/update_ms': 100 + i,
      ...extra,
    };
  });
}

describe('sweep grid', () => {
  it('reads axes as the schema reads values, and refuses what it would change', () => {
    expect(parseAxis('learningRate=0.001, 0.003')).toEqual({ key: 'learningRate', values: ['0.001', '0.003'] });
    expect(parseAxis('algorithm=ppo,grpo')).toEqual({ key: 'algorithm', values: ['ppo', 'grpo'] });
    expect(parseAxis('learningRat=0.1')).toMatch(/unknown setting "learningRat"/);
    expect(parseAxis('learningRate=5')).toMatch(/outside/);
    expect(parseAxis('algorithm=ppo,dqn')).toMatch(/"dqn" is not one of/);
    expect(parseAxis('beta=0,0')).toMatch(/appears twice/);
    expect(parseAxis('seed=1,2')).toMatch(/--seeds/);
    expect(parseAxis('beta')).toMatch(/key=v1,v2/);
  });

  it('reads seeds as ranges and lists', () => {
    expect(parseSeeds('1-5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds('1,3,7')).toEqual([1, 3, 7]);
    expect(parseSeeds('2-3,3,9')).toEqual([2, 3, 9]);
    expect(parseSeeds('5-1')).toMatch(/backwards/);
    expect(parseSeeds('a')).toMatch(/whole numbers/);
  });

  it('makes every combination, the first axis varying slowest, each run on every seed', () => {
    const axes: GridAxis[] = [
      { key: 'learningRate', values: ['0.001', '0.003'] },
      { key: 'beta', values: ['0', '0.02', '0.05'] },
    ];
    expect(combinations(axes).map((c) => c.id)).toEqual([
      'learningRate=0.001_beta=0',
      'learningRate=0.001_beta=0.02',
      'learningRate=0.001_beta=0.05',
      'learningRate=0.003_beta=0',
      'learningRate=0.003_beta=0.02',
      'learningRate=0.003_beta=0.05',
    ]);
    const runs = sweepRuns('#v=4&task=sort', axes, [1, 2]);
    if (typeof runs === 'string') throw new Error(runs);
    expect(runs).toHaveLength(12);
    expect(runs[3]).toMatchObject({ id: 'learningRate=0.001_beta=0.02_seed2', seed: 2 });
    expect(runs[3].config).toMatchObject({ task: 'sort', learningRate: 0.001, beta: 0.02, seed: 2 });
  });

  it('refuses a base link with notices and a combination the schema would repair', () => {
    expect(sweepRuns('#v=4&learningRate=banana', [], [1])).toMatch(/--link: .*not a finite number/);
    const heads = sweepRuns('#v=4', [{ key: 'nHeads', values: ['2', '3'] }], [1]);
    expect(heads).toMatch(/nHeads=3 is not valid as it stands: .*does not divide width 32/);
  });

  it('parses the command line and names a bad flag', () => {
    const args = parseSweepArgs(['--link', '#v=4', '--grid', 'beta=0,0.1', '--seeds', '1-2', '--jobs', '1']);
    if (typeof args === 'string') throw new Error(args);
    expect(args).toMatchObject({ seeds: [1, 2], jobs: 1, updates: 200, out: 'runs/sweep' });
    expect(parseSweepArgs(['--grid', 'beta=0'])).toMatch(/--link is required/);
    expect(parseSweepArgs(['--link', '#v=4', '--metric', 'reward/scor'])).toMatch(/--metric needs one of/);
    expect(parseSweepArgs(['--link', '#v=4', '--grid', 'beta=0', '--grid', 'beta=1'])).toMatch(/given twice/);
  });
});

describe('sweep summary', () => {
  const [run] = sweepRuns('#v=4', [{ key: 'beta', values: ['0'] }], [3]) as Exclude<
    ReturnType<typeof sweepRuns>,
    string
  >;

  it('updates_to is the first update whose 5-update mean reaches the threshold; final_* average the last 10', () => {
    const scores = [0.1, 0.3, 0.5, 0.7, 0.9, 1, 1, 1, 1, 1, 1, 1];
    // 5-update means: u5 0.5, u6 0.68, u7 0.82, u8 0.92 → 8.
    expect(updatesTo(history(scores), 'reward/score', 0.9)).toBe(8);
    expect(updatesTo(history(scores), 'reward/score', 1.01)).toBeUndefined();
    const row = summaryRow(run, history(scores), DEFAULT_SUMMARY);
    expect(row).toMatchObject({ run: 'beta=0_seed3', seed: 3, updates: 12, updatesTo: 8 });
    expect(row.finalScore).toBeCloseTo((0.5 + 0.7 + 0.9 + 7) / 10, 12);
    // kl/ref is the update index 0…11: the last 10 are 2…11.
    expect(row.finalKl).toBeCloseTo(6.5, 12);
    // perf/update_ms 100…111: the median of 12 is 105.5.
    expect(row.msPerUpdate).toBe(105.5);
    const csv = summaryCsv([{ key: 'beta', values: ['0'] }], [row], DEFAULT_SUMMARY).split('\n');
    expect(csv[0]).toBe(
      'run,beta,seed,updates,updates_to_reward/score_0.9,final_score,final_kl,final_entropy,ms_per_update',
    );
    expect(csv[1]).toBe('beta=0_seed3,0,3,12,8,0.91,6.5,1,105.5');
  });

  it('the plot has a band and a line per combination, and escapes labels', () => {
    const all = curves(
      [
        { label: 'beta = 0', histories: [history([0.2, 0.4]), history([0.4, 0.8])] },
        { label: 'a <b> & "c"', histories: [history([0.1, 0.1])] },
      ],
      'reward/score',
    );
    expect(all[0]).toMatchObject({
      mean: [0.30000000000000004, 0.6000000000000001],
      low: [0.2, 0.4],
      high: [0.4, 0.8],
      seeds: 2,
    });
    const svg = summarySvg(all, 'reward/score', 'score: #v=4&beta=0');
    expect(svg.match(/<path /g)).toHaveLength(4);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('score: #v=4&amp;beta=0');
    expect(svg).not.toMatch(/<script|href=/);
  });
});

describe('npm run sweep, end to end', () => {
  const out = mkdtempSync(join(tmpdir(), 'sweep-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const sweep = (...extra: string[]) =>
    promisify(execFile)(
      process.execPath,
      [
        '--import',
        './scripts/node-tfjs-resolve.mjs',
        '--import',
        'tsx',
        'src/cli/sweep.ts',
        '--link',
        '#v=4&dModel=8&nHeads=1&batchSize=8&sftSteps=0',
        '--grid',
        'learningRate=0.001,0.01',
        '--seeds',
        '1',
        '--out',
        out,
        '--jobs',
        '2',
        ...extra,
      ],
      { encoding: 'utf8' },
    );

  it('runs each combination, writes its metrics and a summary row for each; a second call runs nothing', async () => {
    const first = await sweep('--updates', '2');
    expect(first.stdout).toMatch(/2 of 2 runs/);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    for (const [i, lr] of ['0.001', '0.01'].entries()) {
      const lines = readFileSync(join(out, 'runs', `learningRate=${lr}_seed1.jsonl`), 'utf8')
        .trim()
        .split('\n');
      const scores = lines.map((l) => (JSON.parse(l) as { 'reward/score': number })['reward/score']);
      expect(scores).toHaveLength(2);
      const cells = csv[i + 1].split(',');
      expect(cells.slice(0, 4)).toEqual([`learningRate=${lr}_seed1`, lr, '1', '2']);
      expect(Number(cells[5])).toBeCloseTo((scores[0] + scores[1]) / 2, 4);
    }
    expect(readFileSync(join(out, 'summary.svg'), 'utf8')).toContain('learningRate = 0.01 (mean of 1 seeds');

    const again = await sweep('--updates', '2');
    expect(again.stderr).toMatch(/2 already finished, kept/);
    await expect(sweep('--updates', '3')).rejects.toMatchObject({
      stderr: expect.stringMatching(/holds a run of other settings/),
    });
  });
});
