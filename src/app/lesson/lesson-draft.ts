// The lesson editor's form as plain data, and the link it makes. The form's fields are written into a
// link as typed and read back through `decodeLink`, so the preview shows exactly what a student who opens
// the link will see, with the same notices for anything malformed.
import type { Config } from '../../engine/config';
import type { MetricName } from '../../engine/metrics';
import { lessonLink, settingsDiff, type LessonSource } from '../../lessons/authored';
import { linkText, type Limit } from '../../share/lesson-link';
import { decodeLink, encodeLink, type DecodedLink } from '../../share/link';

export interface ArmDraft {
  label: string;
  /** As a link writes an arm's settings: `key=value;key=value`. */
  settings: string;
}

export interface GoalDraft {
  enabled: boolean;
  metric: MetricName;
  op: '>=' | '<=';
  threshold: number;
  updates: number;
}

export interface LessonDraft {
  /** The settings every arm starts from. */
  base: Config;
  title: string;
  text: string;
  arms: ArmDraft[];
  /** Updates per arm; empty for the default. */
  updates: number | null;
  /** Settings hidden from the student, comma-separated as in `hide=`. */
  hide: string;
  charts: MetricName[];
  goal: GoalDraft;
  limits: Limit[];
}

/** `key=value;key=value` for the settings that differ from `base`. */
export function armSettingsText(config: Config, base: Config): string {
  return Object.entries(settingsDiff(config, base))
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
}

/** A lesson link (or a built-in lesson) as a draft to edit. */
export function draftOf(source: LessonSource): LessonDraft {
  const { lesson } = source;
  return {
    base: source.config,
    title: source.title,
    text: lesson.text,
    arms: lesson.arms.map((arm) => ({
      label: arm.label,
      settings: Object.entries(arm.settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
    })),
    updates: lesson.updates ?? null,
    hide: source.hide.join(','),
    charts: [...lesson.charts],
    goal: lesson.goal
      ? { enabled: true, ...lesson.goal }
      : { enabled: false, metric: 'reward/score', op: '>=', threshold: 0.9, updates: 100 },
    limits: lesson.limits.map((l) => ({ ...l })),
  };
}

/** The draft as a link, read back: the lesson a student gets and every notice about the draft. */
export function readDraft(draft: LessonDraft): { decoded: DecodedLink; link: string } {
  const hide = draft.hide
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const parts = [encodeLink(draft.base, { title: draft.title }).slice(1)];
  const add = (key: string, value: string) => parts.push(`${key}=${linkText(value)}`);
  if (hide.length > 0) add('hide', hide.join(','));
  if (draft.text !== '') add('text', draft.text);
  for (const arm of draft.arms) add('arm', `${arm.label.replace(/\|/g, '/')}|${arm.settings}`);
  if (typeof draft.updates === 'number') add('updates', String(draft.updates));
  if (draft.charts.length > 0) add('charts', draft.charts.join(','));
  const g = draft.goal;
  if (g.enabled) add('goal', `${g.metric}${g.op}${g.threshold}@${g.updates}`);
  for (const limit of draft.limits) add('limit', `${limit.key}${limit.op}${limit.value}`);
  const decoded = decodeLink(`#${parts.join('&')}`);
  return { decoded, link: lessonLink(decoded) };
}
