// `npm run train`: trains headless with the same engine the app uses, prints a progress line per
// update and optionally writes one JSON object of metrics per update (docs/reference.md §7) and, for auditing, every
// episode decoded (--samples).
import { createWriteStream, type WriteStream } from 'node:fs';
import { useBackend } from '../engine/backend';
import type { Metrics } from '../engine/metrics';
import { brokenLimit, describeChallenge, goalStatus } from '../lessons/goal';
import { createTrainer } from '../engine/trainer';
import { parseTrainArgs, resolveSettings, TRAIN_USAGE } from './args';
import { metricsToJson, progressLine, settingsHelp } from './format';
import { samplesLine } from './samples';

async function main(): Promise<number> {
  const parsed = parseTrainArgs(process.argv.slice(2));
  if ('error' in parsed) {
    console.error(`${parsed.error}\n\n${TRAIN_USAGE}`);
    return 2;
  }
  const { args } = parsed;
  if (args.help) {
    console.log(`${TRAIN_USAGE}\n\n${settingsHelp()}`);
    return 0;
  }

  // Settings: a preset (or one of its arms) or a link first, then each --set on top; every problem is a warning.
  const { config, warnings, title, arm, lesson } = resolveSettings(args);
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  if (title) console.log(`"${title}"`);
  if (arm) console.log(`${args.preset}: ${arm}`);

  // --check-goal: the challenge's budget is the run's length, and the settings must keep its limits.
  const goal = args.checkGoal ? lesson.goal : undefined;
  if (args.checkGoal) {
    if (!goal) {
      console.error('--check-goal needs a link with a goal, e.g. &goal=reward/score>=0.9@100.');
      return 2;
    }
    console.log(`challenge: ${describeChallenge(goal, lesson.limits)}`);
    const broken = brokenLimit(lesson.limits, config);
    if (broken) {
      console.log(`not met: ${broken}.`);
      return 1;
    }
    if (!args.updatesGiven) args.updates = goal.updates;
  }

  const backend = await useBackend(args.backend);
  console.log(`backend: ${backend.reason}`);
  console.log(`task ${config.task}, ${config.algorithm}, seed ${config.seed}, ${args.updates} updates`);

  // --samples wants every episode of the batch, not the inspector's first few.
  const trainer = createTrainer(config, args.samples ? { samples: config.batchSize } : undefined);
  let out: WriteStream | undefined;
  let samplesOut: WriteStream | undefined;
  try {
    out = args.out ? createWriteStream(args.out) : undefined;
    samplesOut = args.samples ? createWriteStream(args.samples) : undefined;
    if (config.sftSteps > 0) {
      const loss = await trainer.pretrain();
      if (trainer.usesRewardModel) {
        console.log(
          `stage 1, SFT on ${config.demonstrations} demonstrations: ${config.sftSteps} steps, sft/loss ${loss.toFixed(4)}`,
        );
        console.log(`stage 2, reward model on ${config.comparisons} comparisons: ${config.rmSteps} steps`);
      } else console.log(`format pretraining: ${config.sftSteps} steps, sft/loss ${loss.toFixed(4)}`);
    }
    const history: Metrics[] = [];
    for (let i = 0; i < args.updates; i++) {
      const { metrics, samples, divergence } = await trainer.step();
      history.push(metrics);
      if (divergence) console.warn(`warning: ${divergence.message}`);
      if (!args.quiet) console.log(progressLine(metrics));
      out?.write(`${metricsToJson(metrics)}\n`);
      samplesOut?.write(`${samplesLine(metrics.update, samples, trainer.usesRewardModel)}\n`);
      // A met goal stays met: no need to train on.
      if (goal && goalStatus(goal, history).state === 'met') break;
    }
    const last = history.at(-1);
    if (last) console.log(`final: ${progressLine(last)}`);
    if (!goal) return 0;
    const status = goalStatus(goal, history);
    console.log(status.text);
    return status.state === 'met' ? 0 : 1;
  } finally {
    trainer.dispose();
    for (const stream of [out, samplesOut])
      await new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve()));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
