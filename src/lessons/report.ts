// lessons/RESULTS.md: per lesson its claim, one table row per seed (the numbers, each condition, ✓/✗)
// and how often it held, with the range of every number. Each lesson's section is delimited by a comment
// so a run of some lessons (`--lesson NAME`) can replace those sections and keep the others.
import type { Lesson } from '../presets';
import { r3, type ClaimResult } from './claims';

export interface SeedResult {
  seed: number;
  /** Undefined when an arm failed; `error` says why. */
  claim?: ClaimResult;
  error?: string;
}

export interface LessonReport {
  lesson: Lesson;
  arms: number;
  seeds: SeedResult[];
  /** How this section was made, e.g. "2025-01-01, commit abc1234, `npm run lessons`". */
  provenance: string;
}

export interface Header {
  command: string;
  date: string;
  backend: string;
  commit: string;
  seeds: readonly number[];
}

const MARK = (name: string) => `<!-- lesson: ${name} -->`;
const MARK_PATTERN = /^<!-- lesson: (\S+) -->$/m;

const mark = (held: boolean) => (held ? '✓' : '✗');
/** Table cells must not contain pipes. */
const cell = (text: string) => text.replaceAll('|', '\\|');

export function seedRange(seeds: readonly number[]): string {
  const sorted = [...seeds].sort((a, b) => a - b);
  const consecutive = sorted.every((s, i) => i === 0 || s === sorted[i - 1] + 1);
  return consecutive && sorted.length > 2 ? `${sorted[0]}–${sorted.at(-1)}` : sorted.join(', ');
}

/** "held on 4 of 5 seeds; gain ranges over 0.123–0.456, …" */
export function summaryLine(seeds: readonly SeedResult[]): string {
  const judged = seeds.filter((s) => s.claim);
  const held = judged.filter((s) => s.claim?.held).length;
  const failed = seeds.length - judged.length;
  const names = Object.keys(judged[0]?.claim?.numbers ?? {});
  const ranges = names.map((name) => {
    const values = judged.map((s) => s.claim?.numbers[name] ?? Number.NaN);
    return `${name} ranges over ${r3(Math.min(...values))}–${r3(Math.max(...values))}`;
  });
  const errors = failed > 0 ? ` (${failed} seed${failed > 1 ? 's' : ''} failed to run)` : '';
  return `Held on ${held} of ${seeds.length} seeds${errors}${ranges.length ? `; ${ranges.join('; ')}` : ''}.`;
}

export function lessonSection(report: LessonReport): string {
  const { lesson, seeds } = report;
  const first = seeds.find((s) => s.claim)?.claim;
  const numberNames = Object.keys(first?.numbers ?? {});
  const conditionNames = (first?.conditions ?? []).map((c) => c.text);
  const head = ['seed', ...numberNames, ...conditionNames, 'held'];
  const rows = seeds.map((s) =>
    s.claim
      ? [
          String(s.seed),
          ...numberNames.map((n) => r3(s.claim?.numbers[n] ?? Number.NaN)),
          ...(s.claim.conditions.map((c) => mark(c.held)) ?? []),
          mark(s.claim.held),
        ]
      : [String(s.seed), ...numberNames.map(() => '–'), ...conditionNames.map(() => '–'), `error: ${s.error ?? '?'}`],
  );
  const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
  const arms = report.arms > 1 ? `${report.arms} arms × ` : '';
  return [
    MARK(lesson.name),
    `## ${lesson.title} (\`${lesson.name}\`)`,
    '',
    `**Claim:** ${lesson.lesson}`,
    '',
    `${arms}${lesson.updates} updates on seeds ${seedRange(seeds.map((s) => s.seed))}; ${report.provenance}.`,
    '',
    table,
    '',
    summaryLine(seeds),
    '',
  ].join('\n');
}

export function header(h: Header): string {
  return [
    '# Lessons on several seeds',
    '',
    `Last written by \`${h.command}\` on ${h.date} (backend ${h.backend}, ${h.commit}); seeds ${seedRange(h.seeds)}. ` +
      'Every lesson runs each arm for its own number of updates, both arms of a comparison on the same seed ' +
      '(the `seed` setting overrides the preset’s). Each section says when and by which command it was made: ' +
      'a run of some lessons (`--lesson NAME`) rewrites their sections and keeps the others.',
    '',
    'Each table has one row per seed: the numbers the lesson’s claim is about, whether each condition of the claim held, and the verdict. ' +
      'A lesson states only what holds on at least 4 of 5 seeds.',
    '',
  ].join('\n');
}

/** Splits an existing RESULTS.md into its lesson sections, by name (text from each marker to the next). */
export function sectionsOf(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = markdown.split(/(?=^<!-- lesson: \S+ -->$)/m);
  for (const part of parts) {
    const name = MARK_PATTERN.exec(part)?.[1];
    if (name && part.startsWith('<!--')) sections.set(name, part.trimEnd() + '\n');
  }
  return sections;
}

/**
 * The whole file: the header, then a section per lesson in gallery order, fresh ones from `reports`,
 * the others kept from `previous` (an earlier RESULTS.md), lessons in neither left out.
 */
export function resultsMarkdown(
  h: Header,
  order: readonly Lesson[],
  reports: readonly LessonReport[],
  previous = '',
): string {
  const fresh = new Map(reports.map((r) => [r.lesson.name, lessonSection(r)]));
  const kept = sectionsOf(previous);
  const sections = order.map((l) => fresh.get(l.name) ?? kept.get(l.name)).filter((s): s is string => !!s);
  return [header(h), ...sections].join('\n');
}
