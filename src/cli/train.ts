// `npm run train`: trains headless with the same engine the app uses, prints a progress line per
// update and optionally writes one JSON object of metrics per update (DESIGN §7).
import { createWriteStream, type WriteStream } from 'node:fs';
import { useBackend } from '../engine/backend';
import { validate } from '../engine/config';
import type { Metrics } from '../engine/metrics';
import { createTrainer } from '../engine/trainer';
import { findPreset } from '../presets';
import { decodeLink } from '../share/link';
import { parseTrainArgs, TRAIN_USAGE } from './args';
import { metricsToJson, progressLine } from './format';

async function main(): Promise<number> {
  const parsed = parseTrainArgs(process.argv.slice(2));
  if ('error' in parsed) {
    console.error(`${parsed.error}\n\n${TRAIN_USAGE}`);
    return 2;
  }
  const { args } = parsed;
  if (args.help) {
    console.log(TRAIN_USAGE);
    return 0;
  }

  // Settings: a preset or a link first, then each --set on top; every problem is a warning.
  const link = args.link ?? findPreset(args.preset ?? 'default')?.link ?? '';
  const decoded = decodeLink(link);
  const { config, problems } = validate({ ...decoded.config, ...Object.fromEntries(args.sets) });
  for (const notice of [...decoded.notices, ...problems.map((p) => p.message)]) console.warn(`warning: ${notice}`);
  if (decoded.title) console.log(`"${decoded.title}"`);

  const backend = await useBackend(args.backend);
  console.log(`backend: ${backend.reason}`);
  console.log(`task ${config.task}, ${config.algorithm}, seed ${config.seed}, ${args.updates} updates`);

  const trainer = createTrainer(config);
  let out: WriteStream | undefined;
  try {
    out = args.out ? createWriteStream(args.out) : undefined;
    if (config.sftSteps > 0) {
      const loss = await trainer.pretrain();
      if (trainer.usesRewardModel) {
        console.log(
          `stage 1, SFT on ${config.demonstrations} demonstrations: ${config.sftSteps} steps, sft/loss ${loss.toFixed(4)}`,
        );
        console.log(`stage 2, reward model on ${config.comparisons} comparisons: ${config.rmSteps} steps`);
      } else console.log(`format pretraining: ${config.sftSteps} steps, sft/loss ${loss.toFixed(4)}`);
    }
    let last: Metrics | undefined;
    for (let i = 0; i < args.updates; i++) {
      const { metrics, divergence } = await trainer.step();
      last = metrics;
      if (divergence) console.warn(`warning: ${divergence.message}`);
      if (!args.quiet) console.log(progressLine(metrics));
      out?.write(`${metricsToJson(metrics)}\n`);
    }
    if (last) console.log(`final: ${progressLine(last)}`);
    return 0;
  } finally {
    trainer.dispose();
    await new Promise<void>((resolve) => (out ? out.end(resolve) : resolve()));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
