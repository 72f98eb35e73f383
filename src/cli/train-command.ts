// What `npm run train` does (src/cli/train.ts is its entry point): trains headless with the same engine
// the app uses, prints a progress line per update and optionally writes one JSON object of metrics per
// update (docs/reference.md §7) and, for auditing, every episode decoded (--samples). It takes its
// arguments and output lines as parameters, so tests run it in-process, and returns the exit code.
import { createWriteStream, type WriteStream } from 'node:fs';
import { useBackend } from '../engine/backend';
import type { Metrics } from '../engine/metrics';
import { brokenLimit, describeChallenge, goalStatus } from '../lessons/goal';
import { createTrainer } from '../engine/trainer';
import { parseTrainArgs, resolveSettings, TRAIN_USAGE } from './args';
import { metricsToJson, progressLine, settingsHelp } from './format';
import { samplesLine } from './samples';

/** Where the command's lines go: standard output (`log`) and standard error (`warn`, `error`). */
export interface CommandOutput {
  log(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

/** Runs `npm run train` with `argv` (the arguments after the script) and returns its exit code. */
export async function runTrain(argv: string[], out: CommandOutput): Promise<number> {
  const parsed = parseTrainArgs(argv);
  if ('error' in parsed) {
    out.error(`${parsed.error}\n\n${TRAIN_USAGE}`);
    return 2;
  }
  const { args } = parsed;
  if (args.help) {
    out.log(`${TRAIN_USAGE}\n\n${settingsHelp()}`);
    return 0;
  }

  // Settings: a preset (or one of its arms) or a link first, then each --set on top; every problem is a warning.
  const { config, warnings, title, arm, lesson } = resolveSettings(args);
  for (const warning of warnings) out.warn(`warning: ${warning}`);
  if (title) out.log(`"${title}"`);
  if (arm) out.log(`${args.preset}: ${arm}`);

  // --check-goal: the challenge's budget is the run's length, and the settings must keep its limits.
  const goal = args.checkGoal ? lesson.goal : undefined;
  if (args.checkGoal) {
    if (!goal) {
      out.error('--check-goal needs a link with a goal, e.g. &goal=reward/score>=0.9@100.');
      return 2;
    }
    out.log(`challenge: ${describeChallenge(goal, lesson.limits)}`);
    const broken = brokenLimit(lesson.limits, config);
    if (broken) {
      out.log(`not met: ${broken}.`);
      return 1;
    }
    if (!args.updatesGiven) args.updates = goal.updates;
  }

  const backend = await useBackend(args.backend);
  out.log(`backend: ${backend.reason}`);
  out.log(`task ${config.task}, ${config.algorithm}, seed ${config.seed}, ${args.updates} updates`);

  // --samples wants every episode of the batch, not the inspector's first few.
  const trainer = createTrainer(config, args.samples ? { samples: config.batchSize } : undefined);
  let metricsOut: WriteStream | undefined;
  let samplesOut: WriteStream | undefined;
  try {
    metricsOut = args.out ? createWriteStream(args.out) : undefined;
    samplesOut = args.samples ? createWriteStream(args.samples) : undefined;
    if (config.sftSteps > 0) {
      const loss = await trainer.pretrain();
      if (trainer.usesRewardModel) {
        out.log(
          `stage 1, SFT on ${config.demonstrations} demonstrations: ${config.sftSteps} steps, sft/loss ${loss.toFixed(4)}`,
        );
        out.log(`stage 2, reward model on ${config.comparisons} comparisons: ${config.rmSteps} steps`);
      } else out.log(`format pretraining: ${config.sftSteps} steps, sft/loss ${loss.toFixed(4)}`);
    }
    const history: Metrics[] = [];
    for (let i = 0; i < args.updates; i++) {
      const { metrics, samples, divergence } = await trainer.step();
      history.push(metrics);
      if (divergence) out.warn(`warning: ${divergence.message}`);
      if (!args.quiet) out.log(progressLine(metrics));
      metricsOut?.write(`${metricsToJson(metrics)}\n`);
      samplesOut?.write(`${samplesLine(metrics.update, samples, trainer.usesRewardModel)}\n`);
      // A met goal stays met: no need to train on.
      if (goal && goalStatus(goal, history).state === 'met') break;
    }
    const last = history.at(-1);
    if (last) out.log(`final: ${progressLine(last)}`);
    if (!goal) return 0;
    const status = goalStatus(goal, history);
    out.log(status.text);
    return status.state === 'met' ? 0 : 1;
  } finally {
    trainer.dispose();
    for (const stream of [metricsOut, samplesOut])
      await new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve()));
  }
}
