// The command line: argument errors name the valid choices; a short run writes one JSON object of
// metrics per update with DESIGN §5's names.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseTrainArgs } from '../src/cli/args';
import { METRIC_NAMES } from '../src/engine/metrics';

const run = promisify(execFile);
const TRAIN = ['--import', './scripts/node-tfjs-resolve.mjs', '--import', 'tsx', 'src/cli/train.ts'];

describe('train arguments', () => {
  it('reads every flag', () => {
    const parsed = parseTrainArgs([
      '--preset',
      'sort',
      '--set',
      'seed=7',
      '--set',
      'beta=0',
      '--updates',
      '12',
      '--backend',
      'cpu',
      '--out',
      'm.jsonl',
    ]);
    expect(parsed).toEqual({
      args: {
        preset: 'sort',
        sets: [
          ['seed', '7'],
          ['beta', '0'],
        ],
        updates: 12,
        backend: 'cpu',
        out: 'm.jsonl',
        quiet: false,
        help: false,
      },
    });
  });

  it.each([
    [['--backend', 'webgl'], /cpu, wasm \(webgl runs only in the browser\)/],
    [['--backend'], /--backend needs one of: cpu, wasm/],
    [['--preset', 'nope'], /--preset needs one of: default, /],
    [['--set', 'colour=red'], /unknown setting "colour". Valid settings: task, alphabetSize/],
    [['--set', 'novalue'], /--set needs key=value/],
    [['--updates', '0'], /whole number ≥ 1/],
    [['--frobnicate'], /Unknown argument "--frobnicate". Valid: --preset/],
    [['--preset', 'sort', '--link', '#v=1'], /either --preset or --link/],
  ])('rejects %j with a message naming the valid choices', (argv, message) => {
    const parsed = parseTrainArgs(argv);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('npm run train', () => {
  it('trains 3 updates from a link with a bad value, warns, and writes 3 JSONL rows', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'train-')), 'metrics.jsonl');
    const link = '#v=1&task=sort&batchSize=8&sftSteps=5&lr=oops&colour=red';
    const { stdout, stderr } = await run('node', [
      ...TRAIN,
      '--link',
      link,
      '--updates',
      '3',
      '--backend',
      'wasm',
      '--out',
      out,
    ]);
    expect(stderr).toMatch(/warning: Unknown setting "colour" ignored/);
    expect(stderr).toMatch(/warning: Learning rate \(learningRate\): "oops" is not a finite number; using 0.003/);
    expect(stdout).toMatch(/task sort, ppo, seed 1, 3 updates/);
    expect(stdout.match(/^update +\d+ +score/gm)).toHaveLength(3);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => r.update)).toEqual([1, 2, 3]);
    expect(Object.keys(rows[0]).sort()).toEqual([...METRIC_NAMES].sort());
    expect(rows[2].episodes).toBe(24);
  });

  it('exits with status 2 and the usage on a bad argument', async () => {
    const failure = await run('node', [...TRAIN, '--backend', 'tpu']).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failure && failure.code).toBe(2);
    expect('stderr' in failure && failure.stderr).toMatch(
      /--backend needs one of: cpu, wasm \(got tpu\)[\s\S]*Usage: npm run train/,
    );
  });
});
