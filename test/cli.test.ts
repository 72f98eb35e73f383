// The command line: argument errors name the valid choices; a short run writes one JSON object of
// metrics per update with docs/reference.md §5's names and, with --samples, every episode decoded for auditing;
// --arm picks one side of a comparison lesson; --help lists every setting from the schema.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseTrainArgs, resolveSettings, type TrainArgs } from '../src/cli/args';
import { settingsHelp } from '../src/cli/format';
import { runTrain } from '../src/cli/train-command';
import { FIELDS, validate } from '../src/engine/config';
import { METRIC_NAMES } from '../src/engine/metrics';
import { findPreset } from '../src/presets';
import { decodeLink } from '../src/share/link';

const run = promisify(execFile);
const TRAIN = ['--import', './scripts/node-tfjs-resolve.mjs', '--import', 'tsx', 'src/cli/train.ts'];

/**
 * `npm run train` with these arguments, in this process (what src/cli/train.ts runs, without a new Node
 * process's ~3 s of start-up): its exit code and what it printed to standard output and error.
 */
async function train(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runTrain(argv, {
    log: (line) => stdout.push(line),
    warn: (line) => stderr.push(line),
    error: (line) => stderr.push(line),
  });
  return { code, stdout: stdout.map((l) => `${l}\n`).join(''), stderr: stderr.map((l) => `${l}\n`).join('') };
}

describe('train arguments', () => {
  it('reads every flag', () => {
    const parsed = parseTrainArgs([
      '--preset',
      'baselines',
      '--arm',
      '2',
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
      '--samples',
      's.jsonl',
      '--check-goal',
    ]);
    expect(parsed).toEqual({
      args: {
        preset: 'baselines',
        arm: 2,
        sets: [
          ['seed', '7'],
          ['beta', '0'],
        ],
        updates: 12,
        updatesGiven: true,
        checkGoal: true,
        backend: 'cpu',
        out: 'm.jsonl',
        samples: 's.jsonl',
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
    [['--samples'], /--samples needs a file name/],
    [['--preset', 'baselines', '--arm', '0'], /--arm needs a whole number ≥ 1, e.g. --arm 2 \(got 0\)/],
    [['--arm', '2'], /--arm needs --preset with a comparison: baselines, critic-gae-lambda, /],
    [['--link', '#v=1', '--arm', '1'], /--arm needs --preset/],
    [['--preset', 'sort', '--arm', '1'], /--arm: preset "sort" has no arms; comparisons: baselines, /],
    [['--preset', 'baselines', '--arm', '3'], /--arm 3: preset "baselines" has 2 arms: 1 "no baseline", 2 "batch-mean/],
  ])('rejects %j with a message naming the valid choices', (argv, message) => {
    const parsed = parseTrainArgs(argv);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('settings of a run', () => {
  const args = (argv: string[]): TrainArgs => {
    const parsed = parseTrainArgs(argv);
    if ('error' in parsed) throw new Error(parsed.error);
    return parsed.args;
  };
  const arms = findPreset('baselines')?.arms ?? [];
  const armConfig = (k: number) => validate(decodeLink(arms[k].link).config).config;

  it('--arm 2 runs arm 2 of a comparison, and --set seed applies on top of it', () => {
    // The arms differ (in the baseline), so a resolver that ignored --arm would fail here.
    expect(armConfig(0)).not.toEqual(armConfig(1));
    const second = resolveSettings(args(['--preset', 'baselines', '--arm', '2']));
    expect(second.config).toEqual(armConfig(1));
    expect(second.arm).toMatch(/^arm 2 of 2, "batch-mean baseline"/);
    expect(second.warnings).toEqual([]);

    const reseeded = resolveSettings(args(['--preset', 'baselines', '--arm', '2', '--set', 'seed=9']));
    expect(reseeded.config).toEqual({ ...armConfig(1), seed: 9 });
  });

  it('a comparison without --arm runs arm 1; a plain preset has no arm', () => {
    const first = resolveSettings(args(['--preset', 'baselines']));
    expect(first.config).toEqual(armConfig(0));
    expect(first.arm).toMatch(/^arm 1 of 2, "no baseline"/);
    expect(resolveSettings(args(['--preset', 'sort', '--set', 'seed=4'])).config).toMatchObject({
      task: 'sort',
      seed: 4,
    });
    expect(resolveSettings(args(['--preset', 'sort'])).arm).toBe('');
  });

  it('--help lists every setting under its group with its values, default and help text', () => {
    const lines = settingsHelp().split('\n');
    // A title, then per group a blank line and its heading, then two lines per setting.
    const groups = new Set(FIELDS.map((f) => f.group)).size;
    expect(lines).toHaveLength(1 + 2 * groups + 2 * FIELDS.length);
    for (const field of FIELDS) {
      const at = lines.findIndex((line) => line.startsWith(`  ${field.key} `));
      expect(lines[at]).toContain(`; default ${String(field.default)}`);
      expect(lines[at + 1].trim()).toBe(field.help);
    }
    const line = (key: string) => lines.find((l) => l.startsWith(`  ${key} `)) ?? '';
    expect(line('algorithm')).toMatch(/ reinforce \| actor-critic \| ppo \| trpo \| grpo \| rloo; default ppo$/);
    expect(line('batchSize')).toMatch(/ whole number 2…1024 episodes; default 128$/);
    expect(line('whitenAdvantages')).toMatch(/ true \| false; default true$/);
    expect(line('targetWord')).toMatch(/ \[a-p\]\+, at most 12 characters; default bad$/);
    // Grouped: `seed` sits under Run, after the RLHF knobs.
    const heading = (title: string) => lines.indexOf(title);
    expect(heading('Run:')).toBeGreaterThan(heading('RLHF pipeline (task preference):'));
    expect(lines.findIndex((l) => l.startsWith('  seed '))).toBeGreaterThan(heading('Run:'));
  });
});

interface AuditLine {
  update: number;
  samples: { prompt: string[]; response: string[]; expected: string[]; score: number; gold?: number; proxy?: number }[];
}
const readSamples = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditLine);

/** The target task's dense score, by hand (docs/reference.md §2): matches / max(length, word length). */
function denseScore(response: string[], word: string, maxNewTokens: number): number {
  const eos = response.indexOf('<eos>');
  const y = eos >= 0 ? response.slice(0, eos) : response;
  const length = eos >= 0 ? y.length : maxNewTokens;
  const matches = y.filter((token, i) => token === word[i]).length;
  return matches / Math.max(length, word.length);
}

describe('npm run train', () => {
  it('--samples writes every episode of each update, scored as the task scores it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'train-')), 'samples.jsonl');
    const sets = ['task=target', 'targetWord=bad', 'maxNewTokens=5', 'batchSize=8', 'sftSteps=5'];
    expect(
      (await train('--backend', 'wasm', '--updates', '2', ...sets.flatMap((s) => ['--set', s]), '--samples', file))
        .code,
    ).toBe(0);
    const lines = readSamples(file);
    expect(lines.map((l) => l.update)).toEqual([1, 2]);
    const all = lines.flatMap((l) => l.samples);
    expect(lines.map((l) => l.samples.length)).toEqual([8, 8]);
    for (const s of all) {
      expect(Object.keys(s).sort()).toEqual(['expected', 'prompt', 'response', 'score']);
      expect(s.prompt).toEqual([]);
      expect(s.expected).toEqual(['b', 'a', 'd']);
      // The policy writes only letters of the 5-letter alphabet and <eos>, which ends a response.
      expect(s.response.length).toBeGreaterThan(0);
      expect(s.response.length).toBeLessThanOrEqual(5);
      for (const token of s.response) expect(['a', 'b', 'c', 'd', 'e', '<eos>']).toContain(token);
      expect(s.response.indexOf('<eos>')).toBeOneOf([-1, s.response.length - 1]);
      expect(s.score).toBeCloseTo(denseScore(s.response, 'bad', 5), 4);
    }
    // Not a vacuous match of zeros: random letters hit `bad` somewhere in 16 episodes.
    expect(all.some((s) => s.score > 0)).toBe(true);
  });

  it('--samples under RLHF adds the gold and proxy scores of each episode', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'train-')), 'samples.jsonl');
    const sets = ['task=preference', 'sftSteps=5', 'rmSteps=5', 'comparisons=16', 'batchSize=8'];
    expect(
      (await train('--backend', 'wasm', '--updates', '1', ...sets.flatMap((s) => ['--set', s]), '--samples', file))
        .code,
    ).toBe(0);
    const lines = readSamples(file);
    expect(lines.map((l) => l.update)).toEqual([1]);
    expect(lines[0].samples).toHaveLength(8);
    for (const s of lines[0].samples) {
      expect(typeof s.gold).toBe('number');
      expect(typeof s.proxy).toBe('number');
      expect(s.gold).toBeGreaterThanOrEqual(0);
      expect(s.gold).toBeLessThanOrEqual(1);
      // The proxy is what the policy is trained on.
      expect(s.proxy).toBe(s.score);
    }
    // Different responses get different reward-model scores (the proxy is not a constant placeholder).
    expect(new Set(lines[0].samples.map((s) => s.proxy)).size).toBeGreaterThan(1);
  });

  it('trains 3 updates from a link with a bad value, warns, and writes 3 JSONL rows', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'train-')), 'metrics.jsonl');
    const link = '#v=1&task=sort&batchSize=8&sftSteps=5&lr=oops&colour=red';
    const { code, stdout, stderr } = await train('--link', link, '--updates', '3', '--backend', 'wasm', '--out', out);
    expect(code).toBe(0);
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

  describe('--check-goal', () => {
    const challenge = '#v=4&task=target&batchSize=32&sftSteps=30';
    const check = (link: string) =>
      train('--link', link, '--check-goal', '--quiet').then(({ code, stdout, stderr }) => ({
        code,
        stdout: stdout + stderr,
      }));

    it('exits 0 when the goal is met within its budget, and stops training there', async () => {
      // Seed 1 starts at a score of ~0.2 (random letters) and passes 0.5 within ~10 updates.
      const { code, stdout } = await check(`${challenge}&goal=reward/score>=0.5@40&limit=beta<=0.3`);
      expect(stdout).toMatch(/challenge: score ≥ 0.5 within 40 updates, keeping beta ≤ 0.3/);
      const met = /Met: score ([0-9.]+) at update (\d+) of 40/.exec(stdout);
      expect(met).not.toBeNull();
      expect(Number(met?.[1])).toBeGreaterThanOrEqual(0.5);
      expect(Number(met?.[2])).toBeLessThan(40);
      expect(stdout).toMatch(new RegExp(`final: update +${met?.[2]} `));
      expect(code).toBe(0);
    });

    it('exits 1 when the budget runs out first, and when the settings break a limit', async () => {
      const missed = await check(`${challenge}&goal=reward/score>=0.99@3`);
      expect(missed.stdout).toMatch(/Not met: score 0\.[0-9]+ at update 3 of 3; the goal was ≥ 0.99/);
      expect(missed.code).toBe(1);
      const broken = await check(`${challenge}&beta=0.5&goal=reward/score>=0.5@40&limit=beta<=0.3`);
      expect(broken.stdout).toMatch(/not met: beta is 0.5, but the challenge needs beta ≤ 0.3/);
      expect(broken.stdout).not.toMatch(/format pretraining/);
      expect(broken.code).toBe(1);
      const none = await check(challenge);
      expect(none.stdout).toMatch(/--check-goal needs a link with a goal/);
      expect(none.code).toBe(2);
    });
  });

  // The one run through `node src/cli/train.ts` itself: its arguments reach the command, and its exit
  // code is the command's.
  it('exits with status 2 and the usage on a bad argument', async () => {
    const failure = await run('node', [...TRAIN, '--backend', 'tpu']).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failure && failure.code).toBe(2);
    expect('stderr' in failure && failure.stderr).toMatch(
      /--backend needs one of: cpu, wasm \(got tpu\)[\s\S]*Usage: npm run train/,
    );
  });
});
