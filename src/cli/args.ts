// Command-line arguments of `npm run train` (DESIGN §7). Parsing never exits; it returns an error
// message that names the valid choices, and the entry point decides how to exit.
import { BACKENDS, type BackendName } from '../engine/backend';
import { FIELDS } from '../engine/config';
import { PRESETS } from '../presets';

export const NODE_BACKENDS: readonly BackendName[] = ['cpu', 'wasm'];

export interface TrainArgs {
  preset?: string;
  link?: string;
  sets: [string, string][];
  updates: number;
  backend: BackendName;
  out?: string;
  quiet: boolean;
  help: boolean;
}

export const TRAIN_USAGE = `Usage: npm run train -- [--preset NAME | --link 'URL-or-#hash'] [--set key=value ...]
                        [--updates N] [--backend cpu|wasm] [--out metrics.jsonl] [--quiet]

  --preset NAME     one of: ${PRESETS.map((p) => p.name).join(', ')}
  --link LINK       a preset link, e.g. '#v=1&task=sort&seed=7'
  --set key=value   any setting (repeatable); keys: ${FIELDS.map((f) => f.key).join(', ')}
  --updates N       RL updates to run (default 200)
  --backend NAME    cpu or wasm (default wasm)
  --out FILE        write one JSON object of metrics per update
  --quiet           no progress line per update`;

export function parseTrainArgs(argv: readonly string[]): { args: TrainArgs } | { error: string } {
  const args: TrainArgs = { sets: [], updates: 200, backend: 'wasm', quiet: false, help: false };
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
      case '--out': {
        const value = takeValue();
        if (!value) return { error: '--out needs a file name, e.g. --out metrics.jsonl.' };
        args.out = value;
        break;
      }
      default:
        return {
          error: `Unknown argument "${flag}". Valid: --preset, --link, --set, --updates, --backend, --out, --quiet, --help.`,
        };
    }
  }
  if (args.preset && args.link) return { error: 'Use either --preset or --link, not both.' };
  return { args };
}
