// `npm run train`: the command's entry point; src/cli/train-command.ts is what it does.
import { runTrain } from './train-command';

runTrain(process.argv.slice(2), console).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
