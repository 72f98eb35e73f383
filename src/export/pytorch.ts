// "Export as PyTorch": one experiment (a link) as a self-contained Python file that needs only PyTorch.
// The program itself is the template (pytorch-template.py, readable on its own); this fills its two
// placeholders from the config schema: `# @@HEADER@@` (which link produced the file, how to run it) and
// `# @@SETTINGS@@` (a CleanRL-style `@dataclass class Args` with one field per schema field, the link's
// value as its default and the field's help text, from which the template builds its command line).
// No Node-only imports: the app imports this with the template as `?raw`, the CLI reads the file.
import {
  defaultConfig,
  FIELD_GROUPS,
  FIELDS,
  validate,
  type Config,
  type ConfigKey,
  type Field,
} from '../engine/config';
import { METRIC_NAMES } from '../engine/metrics';
import { TASK_SPECS, type TaskName } from '../engine/tasks/registry';
import { decodeLink, encodeLink } from '../share/link';

/** The tasks the template implements. */
export const EXPORTED_TASKS: readonly TaskName[] = ['target', 'reverse', 'sort', 'guess', 'chain'];

/** Why a task is not exported (a task added later without an entry gets a generic sentence). */
const TASK_REFUSALS: Partial<Record<TaskName, string>> = {
  preference:
    'the RLHF pipeline (SFT on demonstrations, a reward model fitted to comparisons, RL against its score) is not exported',
  calculator: 'the calculator task’s tool environment is not exported',
  retry: 'the retry task’s feedback environment is not exported',
};

/**
 * Every setting the template reads (or that only matters for a task it refuses). A setting added to the
 * schema later is exported as a dataclass field like any other, but the template would not act on it:
 * a link that sets it to anything but its default is refused until the template learns it.
 */
export const TEMPLATE_SETTINGS: readonly ConfigKey[] = [
  'task',
  'alphabetSize',
  'promptLength',
  'targetWord',
  'scoring',
  'dModel',
  'nLayers',
  'nHeads',
  'contextLength',
  'algorithm',
  'groupSize',
  'baseline',
  'gamma',
  'lambda',
  'whitenAdvantages',
  'lossAgg',
  'stdNorm',
  'ratioLevel',
  'rewardNorm',
  'valueCoef',
  'entropyCoef',
  'learningRate',
  'adaptiveLr',
  'lrKlTarget',
  'batchSize',
  'maxGradNorm',
  'adamBeta2',
  'adamEpsilon',
  'beta',
  'klEstimator',
  'klIn',
  'adaptiveKl',
  'klTarget',
  'klHorizon',
  'clipEpsilon',
  'clipEpsilonHigh',
  'valueClip',
  'epochs',
  'minibatches',
  'targetKl',
  'maxKl',
  'temperature',
  'maxNewTokens',
  'sftSteps',
  // Read only by tasks the exporter refuses (preference, calculator, retry): inert in an exported run.
  'demonstrations',
  'comparisons',
  'labelNoise',
  'rmSteps',
  'rmRefreshEvery',
  'tools',
  'toolCost',
  'feedback',
  'hiddenAnswer',
  'hops',
  'thinkTokens',
  'solvedDemos',
  'seed',
];

/** RL updates an exported script runs unless told otherwise (`--updates`). */
export const DEFAULT_UPDATES = 200;

export interface ExportOverrides {
  /** The `updates` field's default (RL updates to run). */
  updates?: number;
  /** Settings applied on top of the link's, as `npm run train -- --set key=value` does. */
  settings?: Readonly<Record<string, unknown>>;
}

export type ExportResult =
  | {
      script: string;
      /** The link's (and the overrides') problems, each repaired as the app repairs it; also in the header. */
      notices: string[];
      /** The experiment the script runs, as a canonical link. */
      link: string;
    }
  | { error: string };

/** Why `config` cannot be exported, one line per setting; empty when it can. */
export function exportRefusals(config: Config): string[] {
  const reasons: string[] = [];
  const defaults = defaultConfig();
  if (!EXPORTED_TASKS.includes(config.task)) {
    const why = TASK_REFUSALS[config.task] ?? `the ${config.task} task is not exported`;
    reasons.push(`task=${config.task}: ${why} (exported tasks: ${EXPORTED_TASKS.join(', ')}).`);
    // The refused task's own settings that the link changed go with it.
    for (const key of TASK_SPECS[config.task].owns?.keys ?? [])
      if (config[key] !== defaults[key])
        reasons.push(`${key}=${String(config[key])}: a setting of the ${config.task} task.`);
  }
  for (const field of FIELDS) {
    const key = field.key as ConfigKey;
    if (!TEMPLATE_SETTINGS.includes(key) && config[key] !== defaults[key])
      reasons.push(`${key}=${String(config[key])}: the PyTorch export does not implement this setting yet.`);
  }
  return reasons;
}

/**
 * The script for `link` (a URL, a `#hash` or a query string), or why it cannot be exported. `template`
 * is the text of pytorch-template.py. Never throws.
 */
export function exportPytorch(link: string, template: string, overrides: ExportOverrides = {}): ExportResult {
  const decoded = decodeLink(link);
  const notices = [...decoded.notices];
  let config = decoded.config;
  if (overrides.settings && Object.keys(overrides.settings).length > 0) {
    const result = validate({ ...config, ...overrides.settings }, config);
    config = result.config;
    notices.push(...result.problems.map((p) => p.message));
  }
  const refusals = exportRefusals(config);
  if (refusals.length > 0)
    return { error: `This experiment cannot be exported to PyTorch:\n${refusals.map((r) => `  - ${r}`).join('\n')}` };
  const updates = overrides.updates ?? DEFAULT_UPDATES;
  if (!Number.isInteger(updates) || updates < 1)
    return { error: `updates must be a whole number ≥ 1, not ${updates}.` };
  if (!template.includes(HEADER) || !template.includes(SETTINGS))
    return { error: `The template lacks its ${HEADER} or ${SETTINGS} line.` };
  const canonical = encodeLink(config, { title: decoded.title });
  const script = template
    .replace(HEADER, header(canonical, decoded.title, notices, updates))
    .replace(SETTINGS, settingsBlock(config, canonical, updates));
  return { script, notices, link: canonical };
}

const HEADER = '# @@HEADER@@';
const SETTINGS = '# @@SETTINGS@@';

/** Text safe inside a one-line Python comment: no line breaks or other control characters. */
function commentText(text: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u0085]/g, ' ');
}

function header(link: string, title: string, notices: readonly string[], updates: number): string {
  const lines = [
    '# Token RL Playground experiment, exported as a self-contained PyTorch script (PyTorch and the standard',
    '# library only). Produced from the playground link:',
    `#     ${commentText(link)}`,
    ...(title ? [`# Title: ${commentText(title)}`] : []),
    '# Every setting of that link is a default of the Args dataclass below; each one is also a flag.',
    '#',
    '# Run:',
    `#     OMP_NUM_THREADS=1 python3 this_file.py                  # ${updates} RL updates after format pretraining`,
    '#     python3 this_file.py --updates 80 --seed 3             # override any setting',
    '#     python3 this_file.py --help                            # every setting, its meaning and default',
    '# Standard output: one JSON line of metrics per update, with the playground’s metric names (null where',
    '# this algorithm has no such number); progress goes to standard error.',
  ];
  if (notices.length > 0) {
    lines.push('#', '# The link had problems; each was repaired as the playground repairs it:');
    for (const notice of notices) lines.push(`#   - ${commentText(notice)}`);
  }
  return lines.join('\n');
}

/** Python keywords a schema key could collide with (`lambda` does): its field gets a trailing underscore. */
const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
);

/** A number as a Python literal: floats keep a decimal point, so `type(default)` is float. */
function pyNumber(value: number, integer: boolean): string {
  if (integer || !Number.isInteger(value) || Math.abs(value) >= 1e15) return String(value);
  return `${value}.0`;
}

/** A JSON string is a valid Python string literal (the escapes JSON writes are Python's too). */
const pyString = (text: string) => JSON.stringify(text);

function pyValue(field: Field, value: unknown): string {
  switch (field.kind) {
    case 'number':
      return pyNumber(value as number, field.integer);
    case 'boolean':
      return value ? 'True' : 'False';
    default:
      return pyString(String(value));
  }
}

function pyType(field: Field): string {
  if (field.kind === 'number') return field.integer ? 'int' : 'float';
  return field.kind === 'boolean' ? 'bool' : 'str';
}

function settingsBlock(config: Config, link: string, updates: number): string {
  const lines = [
    `SOURCE_LINK = ${pyString(link)}`,
    `SUPPORTED_TASKS = (${EXPORTED_TASKS.map(pyString).join(', ')})`,
    '# The playground’s metric names, in its order (src/engine/metrics.ts).',
    'METRIC_NAMES = [',
    ...METRIC_NAMES.map((name) => `    ${pyString(name)},`),
    ']',
    '',
    '',
    '@dataclass',
    'class Args:',
    '    """Every setting of the experiment: the link’s values (the playground’s schema, src/engine/config.ts)."""',
  ];
  let group = '';
  for (const field of FIELDS) {
    if (field.group !== group) {
      group = field.group;
      lines.push('', `    # ${FIELD_GROUPS.find((g) => g.id === group)?.title ?? group}`);
    }
    const name = PYTHON_KEYWORDS.has(field.key) ? `${field.key}_` : field.key;
    const metadata = [`"help": ${pyString(field.help)}`];
    if (name !== field.key) metadata.unshift(`"key": ${pyString(field.key)}`);
    if (field.kind === 'choice') metadata.push(`"choices": [${field.choices.map(pyString).join(', ')}]`);
    if (field.kind === 'number')
      metadata.push(`"min": ${pyNumber(field.min, field.integer)}`, `"max": ${pyNumber(field.max, field.integer)}`);
    const value = pyValue(field, (config as unknown as Record<string, unknown>)[field.key]);
    lines.push(
      `    ${name}: ${pyType(field)} = field(`,
      `        default=${value},`,
      `        metadata={${metadata.join(', ')}},`,
      '    )',
    );
  }
  lines.push(
    '',
    '    # The exported run',
    '    updates: int = field(',
    `        default=${updates},`,
    '        metadata={"help": "RL updates to run after format pretraining.", "min": 1, "max": 1000000},',
    '    )',
  );
  return lines.join('\n');
}
