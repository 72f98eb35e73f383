// Text forms of metrics for the terminal and for JSONL files, and the settings part of --help.
import { FIELDS, type Field, type FieldGroup } from '../engine/config';
import { metricsRow, type Metrics } from '../engine/metrics';

/** One JSON object with every metric name; NaN ("not defined here") becomes null. */
export function metricsToJson(metrics: Metrics): string {
  return JSON.stringify(metricsRow(metrics));
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

export function progressLine(m: Metrics): string {
  // With a reward model (task preference) the training score is its proxy; gold is the hidden human's.
  const rlhf = Number.isFinite(m['rm/accuracy']);
  return [
    `update ${String(m.update).padStart(4)}`,
    `${rlhf ? 'proxy' : 'score'} ${fixed(m['reward/score'], 3)} ±${fixed(m['reward/score_std'], 2)}`,
    ...(rlhf ? [`gold ${fixed(m['reward/gold'], 3)}`, `rm acc ${fixed(m['rm/accuracy'], 2)}`] : []),
    `kl ${fixed(m['kl/ref'], 3)}`,
    `β ${fixed(m['kl/beta'], 3)}`,
    `entropy ${fixed(m['policy/entropy'], 3)}`,
    `value loss ${fixed(m['loss/value'], 4)}`,
    `len ${fixed(m['episode/length'], 2)}`,
    `${fixed(m['perf/update_ms'], 0)} ms`,
  ].join('  ');
}

const GROUP_TITLES: Record<FieldGroup, string> = {
  task: 'Task',
  model: 'Model',
  algorithm: 'Algorithm',
  optimisation: 'Optimisation',
  kl: 'KL to the reference',
  ppo: 'PPO',
  sampling: 'Sampling',
  rlhf: 'RLHF pipeline (task preference)',
  agent: 'Agent environment',
  run: 'Run',
};

/** What values a field takes, e.g. "whole number 4…1024" or "reinforce | actor-critic | ppo". */
function valuesOf(field: Field): string {
  switch (field.kind) {
    case 'number':
      return `${field.integer ? 'whole number ' : ''}${field.min}…${field.max}${field.unit ? ` ${field.unit}` : ''}`;
    case 'choice':
      return field.choices.join(' | ');
    case 'boolean':
      return 'true | false';
    case 'string':
      return `${field.pattern.source.replace(/^\^|\$$/g, '')}, at most ${field.maxLength} characters`;
  }
}

/**
 * `--help`'s list of settings, generated from the schema like CleanRL's Args docstrings: per group,
 * each key with its values and default on one line and its help text on the next.
 */
export function settingsHelp(fields: readonly Field[] = FIELDS): string {
  const width = Math.max(...fields.map((f) => f.key.length)) + 2;
  const indent = ' '.repeat(width + 2);
  // The groups in GROUP_TITLES' order (the run's own knobs, seed included, last), not the schema's.
  const groups = (Object.keys(GROUP_TITLES) as FieldGroup[]).filter((g) => fields.some((f) => f.group === g));
  const lines = ['Settings (--set key=value), from src/engine/config.ts:'];
  for (const group of groups) {
    lines.push('', `${GROUP_TITLES[group]}:`);
    for (const f of fields.filter((x) => x.group === group)) {
      lines.push(`  ${f.key.padEnd(width)}${valuesOf(f)}; default ${String(f.default)}`, `${indent}${f.help}`);
    }
  }
  return lines.join('\n');
}
