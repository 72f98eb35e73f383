// A sweep's grid: `--grid key=v1,v2` flags become every combination of the values, each combination a
// set of settings on top of a base link, run on every seed. Values are read as the schema reads them
// (a link or --set would), so a value the schema would clamp or replace is an error here, not a
// silent change: a sweep that ran other values than it says is worse than no sweep.
import { coerce, FIELD_BY_KEY, FIELDS, validate, type Config, type ConfigKey } from '../engine/config';
import { decodeLink } from '../share/link';

export interface GridAxis {
  key: ConfigKey;
  /** The values as typed, in order. */
  values: string[];
}

/** One combination: a value per axis, in axis order. */
export interface Combination {
  /** Stable and filename-safe, e.g. `learningRate=0.001_beta=0`. */
  id: string;
  settings: Partial<Record<ConfigKey, string>>;
}

export interface SweepRun {
  /** `<combination id>_seed<k>`: the file stem of the run's metrics. */
  id: string;
  combination: Combination;
  seed: number;
  config: Config;
}

/** `learningRate=0.001,0.003` → an axis; an error message names what is wrong. */
export function parseAxis(text: string): GridAxis | string {
  const eq = text.indexOf('=');
  if (eq <= 0) return `--grid needs key=v1,v2,…, e.g. --grid learningRate=0.001,0.003 (got "${text}").`;
  const key = text.slice(0, eq);
  const field = FIELD_BY_KEY.get(key);
  if (!field) return `--grid: unknown setting "${key}". Valid settings: ${FIELDS.map((f) => f.key).join(', ')}.`;
  if (key === 'seed') return '--grid: use --seeds for seeds (every combination runs on every seed).';
  const values = text
    .slice(eq + 1)
    .split(',')
    .map((v) => v.trim());
  if (values.length === 0 || values.some((v) => v === '')) return `--grid ${key}: empty value in "${text}".`;
  if (new Set(values).size !== values.length) return `--grid ${key}: a value appears twice in "${text}".`;
  for (const value of values) {
    const read = coerce(field, value);
    if (read.problem) return `--grid ${key}: ${read.problem}`;
  }
  return { key: field.key, values };
}

/** `1-5`, `1,3,7` or `2`: whole numbers ≥ 0, each once, in order. */
export function parseSeeds(text: string): number[] | string {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) return `--seeds: the range "${part}" runs backwards.`;
      if (to - from > 1000) return `--seeds: the range "${part}" has more than 1,000 seeds.`;
      for (let s = from; s <= to; s++) seeds.push(s);
    } else if (/^\s*\d+\s*$/.test(part)) seeds.push(Number(part));
    else return `--seeds needs whole numbers or ranges, e.g. 1-5 or 1,2,7 (got "${text}").`;
  }
  return [...new Set(seeds)];
}

/** Every combination of the axes' values (the first axis varies slowest). */
export function combinations(axes: readonly GridAxis[]): Combination[] {
  let combos: Partial<Record<ConfigKey, string>>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.key]: v })));
  return combos.map((settings) => ({
    id:
      axes.map((a) => `${a.key}=${safe(settings[a.key] ?? '')}`).join('_') ||
      // No axes: one combination, the base link itself.
      'base',
    settings,
  }));
}

/** File-name safe: letters, digits, '.', '-' and '+' stay; anything else becomes '~'. */
function safe(value: string): string {
  return value.replace(/[^A-Za-z0-9.+-]/g, '~');
}

/**
 * Every run of the sweep: each combination on each seed, with its validated settings. A combination
 * whose settings the schema must repair (say, a head count that does not divide the width) is an
 * error naming the combination, so every run is exactly what its row in summary.csv says.
 */
export function sweepRuns(link: string, axes: readonly GridAxis[], seeds: readonly number[]): SweepRun[] | string {
  const base = decodeLink(link);
  if (base.notices.length > 0) return `--link: ${base.notices.join(' ')}`;
  const runs: SweepRun[] = [];
  for (const combination of combinations(axes)) {
    for (const seed of seeds) {
      const { config, problems } = validate({ ...base.config, ...combination.settings, seed });
      if (problems.length > 0)
        return `The combination ${combination.id} is not valid as it stands: ${problems.map((p) => p.message).join(' ')}`;
      runs.push({ id: `${combination.id}_seed${seed}`, combination, seed, config });
    }
  }
  return runs;
}
