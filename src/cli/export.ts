// `npm run export`: writes an experiment (a link or a preset) as a self-contained PyTorch script
// (src/export/pytorch.ts), to --out or to standard output. A link the export cannot carry (e.g. the
// RLHF pipeline) is refused with the reason, exit status 2.
import { readFileSync, writeFileSync } from 'node:fs';
import { findPreset, PRESETS } from '../presets';
import { DEFAULT_UPDATES, exportPytorch } from '../export/pytorch';

export const EXPORT_USAGE = `Usage: npm run export -- (--link 'URL-or-#hash' | --preset NAME) [--set key=value ...]
                         [--updates N] [--out file.py]

  --link LINK       the experiment, e.g. '#v=4&task=sort&seed=3'
  --preset NAME     or a preset: ${PRESETS.map((p) => p.name).join(', ')}
  --set key=value   any setting (repeatable), applied on top of the link
  --updates N       the script's default number of RL updates (default ${DEFAULT_UPDATES}; --updates on its
                    own command line overrides it)
  --out FILE        write the script there (default: standard output)

Run the script with: OMP_NUM_THREADS=1 python3 FILE [--updates N] [--seed S] [--help]`;

interface ExportArgs {
  link?: string;
  preset?: string;
  sets: Record<string, string>;
  updates?: number;
  out?: string;
  help: boolean;
}

export function parseExportArgs(argv: readonly string[]): { args: ExportArgs } | { error: string } {
  const args: ExportArgs = { sets: {}, help: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
    switch (flag) {
      case '--help':
      case '-h':
        args.help = true;
        break;
      case '--link':
      case '--preset':
      case '--out': {
        const v = value();
        if (v === undefined) return { error: `${flag} needs a value.` };
        args[flag.slice(2) as 'link' | 'preset' | 'out'] = v;
        break;
      }
      case '--updates': {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 1) return { error: '--updates needs a whole number ≥ 1.' };
        args.updates = v;
        break;
      }
      case '--set': {
        const v = value() ?? '';
        const eq = v.indexOf('=');
        if (eq < 1) return { error: `--set needs key=value, not "${v}".` };
        args.sets[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      default:
        return { error: `Unknown argument "${flag}".` };
    }
  }
  if (!args.help && (args.link === undefined) === (args.preset === undefined))
    return { error: 'Give one of --link or --preset.' };
  return { args };
}

function main(): number {
  const parsed = parseExportArgs(process.argv.slice(2));
  if ('error' in parsed) {
    console.error(`${parsed.error}\n\n${EXPORT_USAGE}`);
    return 2;
  }
  const { args } = parsed;
  if (args.help) {
    console.log(EXPORT_USAGE);
    return 0;
  }
  let link = args.link ?? '';
  if (args.preset !== undefined) {
    const preset = findPreset(args.preset);
    if (!preset) {
      console.error(`Unknown preset "${args.preset}"; one of: ${PRESETS.map((p) => p.name).join(', ')}.`);
      return 2;
    }
    link = preset.link;
  }
  const template = readFileSync(new URL('../export/pytorch-template.py', import.meta.url), 'utf8');
  const result = exportPytorch(link, template, { updates: args.updates, settings: args.sets });
  if ('error' in result) {
    console.error(result.error);
    return 2;
  }
  for (const notice of result.notices) console.error(`warning: ${notice}`);
  if (args.out) {
    writeFileSync(args.out, result.script, { mode: 0o755 });
    console.error(`wrote ${args.out} (${result.link}); run it with: OMP_NUM_THREADS=1 python3 ${args.out}`);
  } else process.stdout.write(result.script);
  return 0;
}

process.exitCode = main();
