// Each gallery lesson's claim (its `lesson` line, src/presets) as numbers: what was measured and whether
// every condition of the line holds. Shared by the unit test (one seed per lesson) and `npm run lessons`
// (seeds 1–5, lessons/RESULTS.md). Plain numbers only: no TensorFlow.js, no test framework. A new lesson
// adds one entry to CLAIMS, keyed by its name.
import type { Config } from '../engine/config';
import type { MetricName, Metrics } from '../engine/metrics';
import type { Lesson } from '../presets';
import { updatesTo as firstUpdateReaching } from '../sweep/summary';

/** What a claim reads from one arm's run (src/lessons/run.ts makes it). */
export interface ArmRun {
  /** One row of metrics per update. */
  history: Metrics[];
  /** Per update: the share of the batch's episodes that scored exactly 1 (dense or sparse: the answer, then <eos>). */
  exact: number[];
}

export interface ClaimContext {
  lesson: Lesson;
  /** RL updates each arm ran. */
  updates: number;
  /** Each arm's settings as run (the seed override applied), in arm order. */
  configs: readonly Config[];
}

export interface Condition {
  /** e.g. "batch-mean − none ≥ 0.1" */
  text: string;
  held: boolean;
}

export interface ClaimResult {
  /** The measured numbers the claim is about, in the order a table shows them. */
  numbers: Record<string, number>;
  /** Each condition of the claim, in the order the lesson line states them. */
  conditions: Condition[];
  /** Every condition holds. */
  held: boolean;
  /** One line for people: the numbers and the verdict. */
  text: string;
}

export type Claim = (arms: readonly ArmRun[], context: ClaimContext) => ClaimResult;

/** Mean of a metric over updates `from`–`to` (1-based, inclusive). */
export function over(run: ArmRun, name: MetricName, from: number, to: number): number {
  return mean(run.history.slice(from - 1, to).map((m) => m[name]));
}

/** Mean of a metric over updates `from`–`to`, counting only the updates where it was defined (finite). */
export function overDefined(run: ArmRun, name: MetricName, from: number, to: number): number {
  return mean(
    run.history
      .slice(from - 1, to)
      .map((m) => m[name])
      .filter(Number.isFinite),
  );
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Three decimals, as every table and log line shows a number. */
export const r3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/** `a ≥ b` style conditions that read well in a table: "label (x vs y)". */
function cond(text: string, held: boolean): Condition {
  return { text, held };
}

function result(name: string, numbers: Record<string, number>, conditions: Condition[]): ClaimResult {
  const held = conditions.every((c) => c.held);
  const shown = Object.entries(numbers)
    .map(([k, v]) => `${k} ${r3(v)}`)
    .join(', ');
  const failed = conditions.filter((c) => !c.held).map((c) => c.text);
  const verdict = held ? 'held' : `did not hold (${failed.join('; ')})`;
  return { numbers, conditions, held, text: `${name}: ${shown} — ${verdict}` };
}

/** The mean score over the last `k` updates of a run of `n`, and the window's label. */
function lastWindow(n: number, k: number): { from: number; label: string } {
  return { from: n - k + 1, label: `${n - k + 1}–${n}` };
}

/** The first update whose 5-update mean score (that update and the 4 before) reaches `threshold`. */
export function reachedAt(run: ArmRun, threshold: number): number | undefined {
  return firstUpdateReaching(run.history, 'reward/score', threshold);
}

/** The 100-update windows (1–100, 101–200, …) that start after update `after`, with a metric's mean. */
function windowsAfter(run: ArmRun, after: number, name: MetricName, size = 100): { from: number; value: number }[] {
  const out: { from: number; value: number }[] = [];
  for (let from = 1; from + size - 1 <= run.history.length; from += size)
    if (from > after) out.push({ from, value: over(run, name, from, from + size - 1) });
  return out;
}

/**
 * By lesson name: the conditions of its `lesson` line (src/presets), each named as the results table
 * shows it. Windows count back from the lesson's `updates`, so the line and its windows change together.
 */
export const CLAIMS: Readonly<Record<string, Claim>> = {
  'first-policy-gradient': ([run], { updates: n }) => {
    const w = lastWindow(n, 5);
    const first = over(run, 'reward/score', 1, 5);
    const last = over(run, 'reward/score', w.from, n);
    return result('first-policy-gradient', { 'score 1–5': first, [`score ${w.label}`]: last }, [
      cond('score 1–5 < 0.3', first < 0.3),
      cond(`score ${w.label} > 0.9`, last > 0.9),
    ]);
  },

  baselines: ([none, batchMean], { updates: n }) => {
    const w = lastWindow(n, 10);
    const without = over(none, 'reward/score', w.from, n);
    const withBaseline = over(batchMean, 'reward/score', w.from, n);
    return result(
      'baselines',
      { [`none ${w.label}`]: without, [`batch-mean ${w.label}`]: withBaseline, gain: withBaseline - without },
      [
        cond(`batch-mean ${w.label} > 0.85`, withBaseline > 0.85),
        cond('batch-mean − none ≥ 0.1', withBaseline - without >= 0.1),
      ],
    );
  },

  'critic-gae-lambda': ([lambda0, lambda1], { updates: n }) => {
    const w = lastWindow(n, 10);
    const zero = over(lambda0, 'reward/score', w.from, n);
    const one = over(lambda1, 'reward/score', w.from, n);
    return result(
      'critic-gae-lambda',
      // λ = 0 over updates 1–10 too: the summary says its reward chart stays flat.
      {
        'λ=0 1–10': over(lambda0, 'reward/score', 1, 10),
        [`λ=0 ${w.label}`]: zero,
        [`λ=1 ${w.label}`]: one,
        gain: one - zero,
      },
      [cond('λ=1 − λ=0 ≥ 0.4', one - zero >= 0.4)],
    );
  },

  'ppo-epochs': ([one, four], { updates: n }) => {
    const scoreOne = over(one, 'reward/score', 1, n);
    const scoreFour = over(four, 'reward/score', 1, n);
    const clipOne = over(one, 'policy/clipfrac', 1, n);
    const clipFour = over(four, 'policy/clipfrac', 1, n);
    return result(
      'ppo-epochs',
      {
        [`1 epoch 1–${n}`]: scoreOne,
        [`4 epochs 1–${n}`]: scoreFour,
        gain: scoreFour - scoreOne,
        'clipfrac 1 epoch': clipOne,
        'clipfrac 4 epochs': clipFour,
        'clipfrac ratio': clipFour / clipOne,
      },
      [cond('4 − 1 epoch ≥ 0.15', scoreFour - scoreOne >= 0.15), cond('clipfrac ratio ≥ 3', clipFour >= 3 * clipOne)],
    );
  },

  'kl-penalty': ([beta0, beta02], { updates: n }) => {
    const w = lastWindow(n, 5);
    const entropy0 = over(beta0, 'policy/entropy', w.from, n);
    const entropy02 = over(beta02, 'policy/entropy', w.from, n);
    const kl0 = over(beta0, 'kl/ref', w.from, n);
    const kl02 = over(beta02, 'kl/ref', w.from, n);
    return result(
      'kl-penalty',
      {
        'entropy β=0': entropy0,
        'entropy β=0.2': entropy02,
        'entropy gap': entropy02 - entropy0,
        'KL β=0': kl0,
        'KL β=0.2': kl02,
        'KL gap': kl0 - kl02,
      },
      [cond('entropy gap ≥ 0.5', entropy02 - entropy0 >= 0.5), cond('KL gap ≥ 2', kl0 - kl02 >= 2)],
    );
  },

  temperature: ([t1, t2], { updates: n }) => {
    const w = lastWindow(n, 5);
    const entropy1 = over(t1, 'policy/entropy', w.from, n);
    const entropy2 = over(t2, 'policy/entropy', w.from, n);
    const score1 = over(t1, 'reward/score', w.from, n);
    const score2 = over(t2, 'reward/score', w.from, n);
    return result(
      'temperature',
      {
        [`entropy T=1 ${w.label}`]: entropy1,
        [`entropy T=2 ${w.label}`]: entropy2,
        'entropy gap': entropy2 - entropy1,
        [`score T=1 ${w.label}`]: score1,
        [`score T=2 ${w.label}`]: score2,
        'score gap': score1 - score2,
      },
      [cond('entropy gap ≥ 0.25', entropy2 - entropy1 >= 0.25), cond('score T=2 < T=1', score2 < score1)],
    );
  },

  'adaptive-kl': ([fixed, adaptive], { updates: n, configs }) => {
    const target = configs[1].klTarget;
    const w = lastWindow(n, 20);
    const klFixed = over(fixed, 'kl/ref', w.from, n);
    const klAdaptive = over(adaptive, 'kl/ref', w.from, n);
    const betas = adaptive.history.map((m) => m['kl/beta']);
    const span = Math.max(...betas) / Math.min(...betas);
    return result(
      'adaptive-kl',
      {
        [`KL fixed ${w.label}`]: klFixed,
        [`KL fixed ${n - 4}–${n}`]: over(fixed, 'kl/ref', n - 4, n),
        [`KL adaptive ${w.label}`]: klAdaptive,
        'β span': span,
      },
      [
        cond(`|KL adaptive − ${target}| < 0.3`, Math.abs(klAdaptive - target) < 0.3),
        cond('β span ≥ 2', span >= 2),
        cond('KL fixed > 3', klFixed > 3),
      ],
    );
  },

  'sparse-reward': ([dense, sparse], { updates: n }) => {
    const w = lastWindow(n, 10);
    const exactDense = mean(dense.exact.slice(w.from - 1, n));
    const exactSparse = mean(sparse.exact.slice(w.from - 1, n));
    return result(
      'sparse-reward',
      {
        [`exact dense ${w.label}`]: exactDense,
        [`exact sparse ${w.label}`]: exactSparse,
        gap: exactDense - exactSparse,
      },
      [cond('dense − sparse ≥ 0.5', exactDense - exactSparse >= 0.5)],
    );
  },

  // Gold's peak is the highest 5-update mean.
  'reward-hacking': ([beta0, beta01], { updates: n }) => {
    const w = lastWindow(n, 5);
    const peakOf = (run: ArmRun) =>
      Math.max(...run.history.slice(4).map((_, i) => over(run, 'reward/gold', i + 1, i + 5)));
    const proxyStart = over(beta0, 'reward/score', 1, 5);
    // The proxy's best 5-update window: on some seeds the β = 0 run games the reward model and then
    // degenerates altogether (KL past 10 nats), so its proxy at the end says less than its climb.
    const proxyPeak = Math.max(...beta0.history.slice(4).map((_, i) => over(beta0, 'reward/score', i + 1, i + 5)));
    const [peak0, peak01] = [peakOf(beta0), peakOf(beta01)];
    const [gold0, gold01] = [over(beta0, 'reward/gold', w.from, n), over(beta01, 'reward/gold', w.from, n)];
    return result(
      'reward-hacking',
      {
        'β=0 proxy rise': proxyPeak - proxyStart,
        'β=0 gold peak': peak0,
        'β=0 gold end': gold0,
        'β=0 gold drop': peak0 - gold0,
        'β=0 KL end': over(beta0, 'kl/ref', w.from, n),
        'β=0.1 gold peak': peak01,
        'β=0.1 gold end': gold01,
        'β=0.1 gold drop': peak01 - gold01,
      },
      [
        cond('β=0 proxy rise ≥ 0.3', proxyPeak - proxyStart >= 0.3),
        cond('β=0 gold drop ≥ 0.05', peak0 - gold0 >= 0.05),
        cond('β=0.1 gold drop ≤ 0.05', peak01 - gold01 <= 0.05),
      ],
    );
  },

  guess: ([run], { updates: n }) => {
    const w = lastWindow(n, 20);
    const first = over(run, 'episode/turns', 1, 10);
    const last = over(run, 'episode/turns', w.from, n);
    // Turns alone would reward quitting early (an episode that stops guessing is short and scores 0).
    const scoreFirst = over(run, 'reward/score', 1, 10);
    const scoreLast = over(run, 'reward/score', w.from, n);
    return result(
      'guess',
      {
        'turns 1–10': first,
        [`turns ${w.label}`]: last,
        drop: first - last,
        'score 1–10': scoreFirst,
        [`score ${w.label}`]: scoreLast,
        'score rise': scoreLast - scoreFirst,
      },
      [
        cond(`turns ${w.label} ≤ 4.5`, last <= 4.5),
        cond('drop ≥ 1.5', first - last >= 1.5),
        cond('score rise ≥ 0.3', scoreLast - scoreFirst >= 0.3),
      ],
    );
  },

  calculator: ([on, off], { updates: n }) => {
    const w = lastWindow(n, 25);
    const [scoreOn, scoreOff] = [over(on, 'reward/score', w.from, n), over(off, 'reward/score', w.from, n)];
    const calls = over(on, 'episode/tool_calls', w.from, n);
    return result(
      'calculator',
      {
        [`score on ${w.label}`]: scoreOn,
        'calls on': calls,
        [`score off ${w.label}`]: scoreOff,
        gap: scoreOn - scoreOff,
      },
      [
        cond('score on ≥ 0.9', scoreOn >= 0.9),
        cond('calls ≥ 0.9', calls >= 0.9),
        cond('gap ≥ 0.45', scoreOn - scoreOff >= 0.45),
      ],
    );
  },

  'grpo-vs-ppo': ([ppo, grpo], { updates: n }) => {
    const [a, b] = [updatesTo(ppo, 0.9), updatesTo(grpo, 0.9)];
    const klPpo = over(ppo, 'policy/update_kl', 1, n);
    const klGrpo = over(grpo, 'policy/update_kl', 1, n);
    const noCritic = grpo.history.every((m) => Number.isNaN(m['loss/value']));
    return result(
      'grpo-vs-ppo',
      { 'PPO: 0.9 at': a, 'GRPO: 0.9 at': b, 'PPO: update KL': klPpo, 'GRPO: update KL': klGrpo },
      [
        cond(`both reach 0.9 within ${n}`, a <= n && b <= n),
        cond('GRPO within 1.3× PPO’s updates', b <= 1.3 * a),
        cond('GRPO trains no value head', noCritic),
        cond('GRPO update KL < ½ PPO’s', klGrpo < klPpo / 2),
      ],
    );
  },

  'dr-grpo-length': ([grpo, drGrpo], { updates: n }) => {
    // Updates where every answer was right have no wrong answer to measure (NaN): they are left out.
    const [a, b] = [
      overDefined(grpo, 'episode/failed_length', 1, n),
      overDefined(drGrpo, 'episode/failed_length', 1, n),
    ];
    return result(
      'dr-grpo-length',
      {
        'GRPO: wrong-answer length': a,
        'Dr. GRPO: wrong-answer length': b,
        'GRPO − Dr. GRPO': a - b,
        'GRPO: 0.9 at': updatesTo(grpo, 0.9),
        'Dr. GRPO: 0.9 at': updatesTo(drGrpo, 0.9),
      },
      [cond('GRPO’s wrong answers ≥ 0.2 tokens longer', a - b >= 0.2)],
    );
  },

  'trpo-vs-ppo': ([trpo, ppo], { updates: n, configs }) => {
    const delta = configs[0].maxKl;
    const column = (run: ArmRun, name: MetricName) => run.history.map((m) => m[name]);
    // The trainer's own before/after measure, independent of the line search's acceptance test.
    const stepKl = Math.max(...column(trpo, 'policy/update_kl'));
    const accepted = over(trpo, 'trpo/accepted', 1, n);
    const ppoKl = column(ppo, 'policy/update_kl');
    const trpoKl = column(trpo, 'policy/update_kl');
    const aboveDelta = ppoKl.filter((k) => k > delta).length / ppoKl.length;
    const spread = (xs: number[]) => Math.max(...xs) / Math.min(...xs);
    return result(
      'trpo-vs-ppo',
      {
        'TRPO: largest update KL': stepKl,
        'TRPO: steps accepted': accepted,
        'TRPO: backtracks per update': over(trpo, 'trpo/line_search_steps', 1, n),
        'TRPO: update KL max/min': spread(trpoKl),
        'PPO: update KL max/min': spread(ppoKl),
        'PPO: share of updates above δ': aboveDelta,
        'TRPO: 0.9 at': updatesTo(trpo, 0.9),
        'PPO: 0.9 at': updatesTo(ppo, 0.9),
      },
      [
        cond('TRPO update KL ≤ δ every update', stepKl <= delta),
        cond('every TRPO step accepted', accepted === 1),
        cond('PPO above δ on ≥ 25% of updates', aboveDelta >= 0.25),
        cond('PPO’s update KL spread > TRPO’s', spread(ppoKl) > spread(trpoKl)),
      ],
    );
  },

  'rloo-vs-reinforce': ([reinforce, rloo], { updates: n }) => {
    const w = lastWindow(n, 50);
    const [a, b] = [over(reinforce, 'reward/score', w.from, n), over(rloo, 'reward/score', w.from, n)];
    return result(
      'rloo-vs-reinforce',
      {
        [`REINFORCE ${w.label}`]: a,
        [`RLOO ${w.label}`]: b,
        'RLOO − REINFORCE': b - a,
        'REINFORCE: 0.9 at': updatesTo(reinforce, 0.9),
        'RLOO: 0.9 at': updatesTo(rloo, 0.9),
      },
      [cond(`|RLOO − REINFORCE| ≤ 0.15 over ${w.label}`, Math.abs(b - a) <= 0.15)],
    );
  },

  // Mode collapse: after each arm first solves the task (5-update mean ≥ 0.9), the worst 100-update
  // window of its score, and the entropy, <eos> rate and KL in that window.
  'mode-collapse': ([plain, stabilised], { updates: n }) => {
    const worst = (run: ArmRun) => {
      const at = reachedAt(run, 0.9) ?? n;
      const windows = windowsAfter(run, at, 'reward/score');
      const w = windows.reduce((a, b) => (b.value < a.value ? b : a), windows[0] ?? { from: 1, value: Number.NaN });
      const end = w.from + 99;
      return {
        at,
        score: w.value,
        entropy: over(run, 'policy/entropy', w.from, end),
        eos: over(run, 'episode/eos_rate', w.from, end),
        kl: over(run, 'kl/ref', w.from, end),
        minEntropy: Math.min(...windowsAfter(run, 0, 'policy/entropy').map((x) => x.value)),
      };
    };
    const [a, b] = [worst(plain), worst(stabilised)];
    return result(
      'mode-collapse',
      {
        'plain: solved at': a.at,
        'plain: worst window': a.score,
        'plain: entropy there': a.entropy,
        'plain: <eos> rate there': a.eos,
        'plain: KL there': a.kl,
        'plain: lowest entropy window': a.minEntropy,
        'stabilised: solved at': b.at,
        'stabilised: worst window': b.score,
        'stabilised: lowest entropy window': b.minEntropy,
      },
      [
        cond('plain worst window ≤ 0.9', a.score <= 0.9),
        cond('stabilised worst window ≥ 0.95', b.score >= 0.95),
        cond('plain lowest entropy < stabilised lowest entropy', a.minEntropy < b.minEntropy),
      ],
    );
  },
  'chain-of-thought': ([atOnce, formatOnly, worked], { updates: n }) => {
    const w = lastWindow(n, 25);
    const score = (run: ArmRun) => over(run, 'reward/score', w.from, n);
    const tracks = (run: ArmRun) => over(run, 'episode/think_tracks', w.from, n);
    const [direct, blank, taught] = [score(atOnce), score(formatOnly), score(worked)];
    return result(
      'chain-of-thought',
      {
        [`at once: score ${w.label}`]: direct,
        [`format only: score ${w.label}`]: blank,
        'format only: on the chain': tracks(formatOnly),
        [`worked solutions: score ${w.label}`]: taught,
        'worked solutions: on the chain': tracks(worked),
        'worked solutions − at once': taught - direct,
      },
      [
        cond('worked solutions ≥ at once + 0.1', taught - direct >= 0.1),
        cond('worked solutions on the chain ≥ 0.8', tracks(worked) >= 0.8),
        cond('format only on the chain ≤ 0.1', tracks(formatOnly) <= 0.1),
      ],
    );
  },
  'retry-feedback': ([told, blank], { updates: n }) => {
    const w = lastWindow(n, 25);
    const [scoreTold, scoreBlank] = [over(told, 'reward/score', w.from, n), over(blank, 'reward/score', w.from, n)];
    const rise = scoreTold - over(told, 'reward/score', 1, 25);
    return result(
      'retry-feedback',
      {
        [`feedback: score ${w.label}`]: scoreTold,
        'feedback: rise from 1–25': rise,
        [`blanks: score ${w.label}`]: scoreBlank,
        gap: scoreTold - scoreBlank,
      },
      [cond('feedback ≥ blanks + 0.05', scoreTold - scoreBlank >= 0.05), cond('feedback rises ≥ 0.05', rise >= 0.05)],
    );
  },
};

/** The updates to a 5-update mean of 0.9, or Infinity when it is never reached (so comparisons fail). */
function updatesTo(run: ArmRun, threshold: number): number {
  return reachedAt(run, threshold) ?? Number.POSITIVE_INFINITY;
}

/** The lesson's claim measured on its arms' runs; throws for a lesson without an entry in CLAIMS. */
export function judge(arms: readonly ArmRun[], context: ClaimContext): ClaimResult {
  const claim = CLAIMS[context.lesson.name];
  if (!claim)
    throw new Error(`No claim check for lesson "${context.lesson.name}": add one to CLAIMS in src/lessons/claims.ts.`);
  return claim(arms, context);
}
