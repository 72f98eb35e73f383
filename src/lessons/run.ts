// Running a lesson's arms headless: one arm is one trainer for the lesson's updates on the started tfjs
// backend (the test and `npm run lessons` use wasm). A seed override goes through the config's `seed`
// key, so both arms of a comparison always share it.
import { validate, type Config } from '../engine/config';
import { createTrainer, type StepResult } from '../engine/trainer';
import type { Lesson, PresetArm } from '../presets';
import { decodeLink } from '../share/link';
import { judge, type ArmRun, type ClaimResult } from './claims';

export interface ArmOptions {
  /** Overrides the link's seed. */
  seed?: number;
  /** Called after each update, e.g. to write its samples to a file. */
  onUpdate?: (result: StepResult) => void;
}

/** The arms of a lesson: a comparison's arms, or the lesson's own link as its only arm. */
export function armsOf(lesson: Lesson): readonly PresetArm[] {
  return lesson.arms ?? [{ label: lesson.name, link: lesson.link }];
}

/** An arm's settings as they run: the link, then the seed override. */
export function armConfig(link: string, seed?: number): Config {
  const { config } = decodeLink(link);
  return seed === undefined ? config : validate({ ...config, seed }).config;
}

/** Trains one arm for `updates` RL updates (format pretraining first, as `step()` does) and returns its history. */
export async function runArm(link: string, updates: number, options: ArmOptions = {}): Promise<ArmRun> {
  const config = armConfig(link, options.seed);
  // Every episode decoded, to count exact answers; decoding changes nothing in the run.
  const trainer = createTrainer(config, { samples: config.batchSize });
  const run: ArmRun = { history: [], exact: [] };
  try {
    for (let i = 0; i < updates; i++) {
      const step = await trainer.step();
      run.history.push(step.metrics);
      // A score of 1, dense or sparse, means the exact answer followed by <eos>.
      run.exact.push(step.samples.filter((s) => s.score === 1).length / step.samples.length);
      options.onUpdate?.(step);
    }
    return run;
  } finally {
    trainer.dispose();
  }
}

/** The lesson's claim on its arms' runs (in arm order), with each arm's settings at `seed`. */
export function judgeLesson(lesson: Lesson, runs: readonly ArmRun[], seed?: number): ClaimResult {
  const configs = armsOf(lesson).map((arm) => armConfig(arm.link, seed));
  return judge(runs, { lesson, updates: lesson.updates, configs });
}

/**
 * Runs every arm of a lesson in turn on one seed (the preset's own when omitted) and judges its claim.
 * `cache` lets arms shared by several lessons (the same link, updates and seed) run once.
 */
export async function runLesson(
  lesson: Lesson,
  options: { seed?: number; cache?: Map<string, Promise<ArmRun>> } = {},
): Promise<{ runs: ArmRun[]; claim: ClaimResult }> {
  const runs: ArmRun[] = [];
  for (const arm of armsOf(lesson)) {
    const key = armKey(arm.link, lesson.updates, options.seed);
    let run = options.cache?.get(key);
    if (!run) {
      run = runArm(arm.link, lesson.updates, { seed: options.seed });
      options.cache?.set(key, run);
    }
    runs.push(await run);
  }
  return { runs, claim: judgeLesson(lesson, runs, options.seed) };
}

/** Identifies one run: arms with equal keys give identical histories. */
export function armKey(link: string, updates: number, seed?: number): string {
  return `${updates}|${armConfig(link, seed).seed}|${link}`;
}
