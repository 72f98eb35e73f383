// `--samples FILE`: every episode of every update as decoded tokens and scores, for reading what the
// policy actually writes (auditing model outputs) without the inspector's per-token arrays.
import type { Sample } from '../engine/trainer';

export interface AuditSample {
  prompt: string[];
  response: string[];
  expected: string[];
  /** The score the policy was trained on: the reward model's normalised score (= proxy) under RLHF. */
  score: number;
  /** RLHF only: the hidden human's score, which training never sees. */
  gold?: number;
  /** RLHF only: the reward model's normalised score. */
  proxy?: number;
}

/** Four decimals: enough to tell scores apart by eye, short enough to read a line. */
const round = (x: number) => Math.round(x * 1e4) / 1e4;

export function auditSample(sample: Sample, rewardModel: boolean): AuditSample {
  const out: AuditSample = {
    prompt: sample.prompt,
    response: sample.response,
    expected: sample.expected,
    score: round(sample.score),
  };
  if (rewardModel) {
    out.gold = round(sample.gold);
    out.proxy = round(sample.score);
  }
  return out;
}

/** One JSONL line (without the newline): `{"update": N, "samples": [...]}`. */
export function samplesLine(update: number, samples: readonly Sample[], rewardModel: boolean): string {
  return JSON.stringify({ update, samples: samples.map((s) => auditSample(s, rewardModel)) });
}
