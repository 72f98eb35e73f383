// Command-line arguments of `npm run train` (docs/reference.md §7). Parsing never exits; it returns an error
// message that names the valid choices, and the entry point decides how to exit.
import { BACKENDS, type BackendName } from '../engine/backend';
import { FIELDS, validate, type Config } from '../engine/config';
import { findPreset, PRESETS, type Preset } from '../presets';
import type { AuthoredLesson } from '../share/lesson-link';
import { decodeLink } from '../share/link';

export const NODE_BACKENDS: readonly BackendName[] = ['cpu', 'wasm'];

export interface TrainArgs {
  preset?: string;
  /** 1-based arm of a comparison preset. */
  arm?: number;
  link?: string;
  sets: [string, string][];
  updates: number;
  /** --updates was given (else a goal check runs the goal's budget). */
  updatesGiven: boolean;
  /** Train until the link's challenge goal is met or its budget runs out; the exit code says which. */
  checkGoal: boolean;
  backend: BackendName;
  out?: string;
  /** JSONL file of every episode's decoded prompt, response and score, one line per update. */
  samples?: string;
  quiet: boolean;
  help: boolean;
}

const COMPARISONS = PRESETS.filter((p) => p.arms);

export const TRAIN_USAGE = `Usage: npm run train -- [--preset NAME [--arm K] | --link 'URL-or-#hash'] [--set key=value ...]
                        [--updates N] [--backend cpu|wasm] [--out metrics.jsonl] [--samples samples.jsonl] [--quiet]
                        [--check-goal]

  --preset NAME     one of: ${PRESETS.map((p) => p.name).join(', ')}
  --arm K           arm K (1-based) of a comparison preset: ${COMPARISONS.map((p) => p.name).join(', ')}
  --link LINK       a preset link, e.g. '#v=1&task=sort&seed=7'
  --set key=value   any setting (repeatable), applied on top of the preset, arm or link; see --help
  --updates N       RL updates to run (default 200)
  --backend NAME    cpu or wasm (default wasm)
  --out FILE        write one JSON object of metrics per update
  --samples FILE    write one JSON line per update with every episode: prompt, response, expected, score
                    (and gold, proxy for task preference)
  --quiet           no progress line per update
  --check-goal      the link is a challenge (goal=metric>=x@N, limit=...): train up to its budget (or --updates),
                    stop when the goal is met, and exit 0 when met, 1 when not (a broken limit is not met)
  --help            this text and every setting's meaning, range and default`;

/** "1 "no baseline", 2 "batch-mean baseline"": a comparison's arms as --arm takes them. */
function armList(preset: Preset): string {
  return (preset.arms ?? []).map((a, i) => `${i + 1} "${a.label}"`).join(', ');
}

export function parseTrainArgs(argv: readonly string[]): { args: TrainArgs } | { error: string } {
  const args: TrainArgs = {
    sets: [],
    updates: 200,
    updatesGiven: false,
    checkGoal: false,
    backend: 'wasm',
    quiet: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const takeValue = (): string | undefined => {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) return undefined;
      i++;
      return value;
    };
    switch (flag) {
      case '--help':
      case '-h':
        args.help = true;
        break;
      case '--quiet':
        args.quiet = true;
        break;
      case '--preset': {
        const name = takeValue();
        if (!name || !PRESETS.some((p) => p.name === name)) {
          return {
            error: `--preset needs one of: ${PRESETS.map((p) => p.name).join(', ')} (got ${name ?? 'nothing'}).`,
          };
        }
        args.preset = name;
        break;
      }
      case '--arm': {
        const value = takeValue();
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1)
          return { error: `--arm needs a whole number ≥ 1, e.g. --arm 2 (got ${value ?? 'nothing'}).` };
        args.arm = n;
        break;
      }
      case '--link': {
        const link = takeValue();
        if (link === undefined) return { error: `--link needs a link, e.g. --link '#v=1&task=sort'.` };
        args.link = link;
        break;
      }
      case '--set': {
        const pair = takeValue();
        const eq = pair?.indexOf('=') ?? -1;
        if (!pair || eq <= 0)
          return { error: `--set needs key=value, e.g. --set learningRate=0.001 (got ${pair ?? 'nothing'}).` };
        const key = pair.slice(0, eq);
        if (!FIELDS.some((f) => f.key === key)) {
          return { error: `--set: unknown setting "${key}". Valid settings: ${FIELDS.map((f) => f.key).join(', ')}.` };
        }
        args.sets.push([key, pair.slice(eq + 1)]);
        break;
      }
      case '--updates': {
        const value = takeValue();
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1)
          return { error: `--updates needs a whole number ≥ 1 (got ${value ?? 'nothing'}).` };
        args.updates = n;
        args.updatesGiven = true;
        break;
      }
      case '--check-goal': {
        args.checkGoal = true;
        break;
      }
      case '--backend': {
        const value = takeValue();
        if (!value || !NODE_BACKENDS.includes(value as BackendName)) {
          const browserOnly = BACKENDS.includes(value as BackendName) ? ` (${value} runs only in the browser)` : '';
          return {
            error: `--backend needs one of: ${NODE_BACKENDS.join(', ')}${browserOnly} (got ${value ?? 'nothing'}).`,
          };
        }
        args.backend = value as BackendName;
        break;
      }
      case '--out':
      case '--samples': {
        const value = takeValue();
        if (!value) return { error: `${flag} needs a file name, e.g. ${flag} ${flag.slice(2)}.jsonl.` };
        args[flag === '--out' ? 'out' : 'samples'] = value;
        break;
      }
      default:
        return {
          error: `Unknown argument "${flag}". Valid: --preset, --arm, --link, --set, --updates, --backend, --out, --samples, --quiet, --check-goal, --help.`,
        };
    }
  }
  if (args.preset && args.link) return { error: 'Use either --preset or --link, not both.' };
  if (args.arm !== undefined) {
    const comparisons = COMPARISONS.map((p) => p.name).join(', ');
    if (!args.preset) return { error: `--arm needs --preset with a comparison: ${comparisons}.` };
    const preset = findPreset(args.preset);
    if (!preset?.arms) return { error: `--arm: preset "${args.preset}" has no arms; comparisons: ${comparisons}.` };
    if (args.arm > preset.arms.length) {
      return {
        error: `--arm ${args.arm}: preset "${args.preset}" has ${preset.arms.length} arms: ${armList(preset)}.`,
      };
    }
  }
  return { args };
}

export interface Settings {
  config: Config;
  /** Link notices and validation problems, each one line. */
  warnings: string[];
  /** The link's title, if it has one. */
  title: string;
  /** What runs, for the log: e.g. `arm 2 of 2, "batch-mean baseline"`; empty when not a comparison. */
  arm: string;
  /** The link's lesson (its goal and limits are what --check-goal checks). */
  lesson: AuthoredLesson;
}

/**
 * The run's settings: a preset (or one of its arms) or a link, then each --set on top, so
 * `--preset baselines --arm 2 --set seed=3` is arm 2 on seed 3. Never throws: bad values become warnings.
 */
export function resolveSettings(args: TrainArgs): Settings {
  const preset = args.link === undefined ? findPreset(args.preset ?? 'default') : undefined;
  const armIndex = preset?.arms ? (args.arm ?? 1) - 1 : undefined;
  const chosen = armIndex === undefined ? undefined : preset?.arms?.[armIndex];
  const link = args.link ?? chosen?.link ?? preset?.link ?? '';
  const decoded = decodeLink(link);
  const { config, problems } = validate({ ...decoded.config, ...Object.fromEntries(args.sets) });
  const arm =
    preset?.arms && chosen && armIndex !== undefined
      ? `arm ${armIndex + 1} of ${preset.arms.length}, "${chosen.label}" (arms: ${armList(preset)})`
      : '';
  return {
    config,
    warnings: [...decoded.notices, ...problems.map((p) => p.message)],
    title: decoded.title,
    arm,
    lesson: decoded.lesson,
  };
}
