// Text forms of metrics for the terminal and for JSONL files.
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
