// An instructor's lesson inside a link (docs/reference.md §6); `decodeLink` reads it beside the settings.
// Beside the settings, a lesson link may carry
//   text=…                     plain text (paragraphs, `inline code`), at most TEXT_MAX characters
//   arm=label|key=value;…      up to ARMS_MAX arms, each a label and the settings that differ from the link's
//   updates=N                  RL updates per arm
//   charts=metric,metric       up to CHARTS_MAX metrics to chart
//   goal=metric>=x@N           a challenge: reach x (or stay ≤ x with <=) within N updates
//   limit=key<=v | key>=v | key=v   knobs the student may not take past v (or must keep at v)
// Decoding never throws: a malformed part gets a notice and is dropped or capped, never an error page.
import { coerce, FIELD_BY_KEY, type Config, type ConfigKey } from '../engine/config';
import { METRIC_NAMES, type MetricName } from '../engine/metrics';
import { cleanMultiline, LINE_BREAKS, UNSAFE } from './plain-text';

export const TEXT_MAX = 1200;
export const ARMS_MAX = 4;
export const LABEL_MAX = 60;
export const CHARTS_MAX = 4;
export const UPDATES_MAX = 2000;
export const LESSON_KEYS = ['text', 'arm', 'updates', 'charts', 'goal', 'limit'] as const;
/** Lesson keys a link holds once (the others may repeat: each arm=, limit= and charts= adds). */
export const SINGLE_KEYS: readonly string[] = ['text', 'updates', 'goal'];

export interface LessonArm {
  label: string;
  /** Settings as a link writes them (strings), each valid for its field. */
  settings: Partial<Record<ConfigKey, string>>;
}

export interface Goal {
  metric: MetricName;
  /** `>=`: reach the threshold; `<=`: get down to it. */
  op: '>=' | '<=';
  threshold: number;
  /** Within this many updates. */
  updates: number;
}

export interface Limit {
  key: ConfigKey;
  op: '<=' | '>=' | '=';
  value: string;
}

export interface AuthoredLesson {
  text: string;
  arms: LessonArm[];
  updates?: number;
  charts: MetricName[];
  goal?: Goal;
  limits: Limit[];
}

export const EMPTY_LESSON: AuthoredLesson = { text: '', arms: [], charts: [], limits: [] };

/** A value for a notice: short, and never throws. */
function shown(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function isMetric(name: string): name is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(name);
}

function parseArm(value: string, notices: string[]): LessonArm | undefined {
  const bar = value.indexOf('|');
  const typed = bar < 0 ? value : value.slice(0, bar);
  const rawLabel = typed.replace(LINE_BREAKS, ' ').replace(UNSAFE, '').trim();
  if (rawLabel !== typed.trim() && rawLabel !== '')
    notices.push(`Control characters were removed from the arm label "${shown(rawLabel)}".`);
  if (rawLabel === '') {
    notices.push(`Arm "${shown(value)}" has no label (label|key=value;…); it was left out.`);
    return undefined;
  }
  const label = rawLabel.slice(0, LABEL_MAX);
  if (rawLabel.length > LABEL_MAX) notices.push(`Arm label "${shown(rawLabel)}" is cut to ${LABEL_MAX} characters.`);
  const settings: Partial<Record<ConfigKey, string>> = {};
  for (const part of bar < 0 ? [] : value.slice(bar + 1).split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const field = FIELD_BY_KEY.get(key);
    if (!field || eq < 0) {
      notices.push(`Arm "${label}": "${shown(part)}" is not a known key=value; it was ignored.`);
      continue;
    }
    const read = coerce(field, part.slice(eq + 1));
    if (read.problem) {
      notices.push(`Arm "${label}": ${read.problem.replace(/; using .*$/, '')}; it was ignored.`);
      continue;
    }
    settings[field.key] = String(read.value);
  }
  return { label, settings };
}

function parseGoal(value: string, notices: string[]): Goal | undefined {
  const match = /^([a-z_]+\/[a-z_0-9]+|[a-z_]+)(>=|<=)(-?[0-9.e+-]+)@([0-9]+)$/.exec(value.trim());
  const bad = (why: string) => {
    notices.push(`Goal "${shown(value)}": ${why}; the lesson has no goal.`);
    return undefined;
  };
  if (!match) return bad('write it as metric>=value@updates, e.g. reward/score>=0.9@100');
  const [, metric, op, x, n] = match;
  if (!isMetric(metric)) return bad(`"${metric}" is not a metric`);
  const threshold = Number(x);
  const updates = Number(n);
  if (!Number.isFinite(threshold)) return bad(`"${x}" is not a number`);
  if (!Number.isInteger(updates) || updates < 1 || updates > UPDATES_MAX)
    return bad(`the update budget must be 1…${UPDATES_MAX}`);
  return { metric, op: op as Goal['op'], threshold, updates };
}

function parseLimit(value: string, notices: string[]): Limit | undefined {
  const match = /^([A-Za-z]+)(<=|>=|=)(.+)$/.exec(value.trim());
  const bad = (why: string) => {
    notices.push(`Limit "${shown(value)}": ${why}; it was ignored.`);
    return undefined;
  };
  if (!match) return bad('write it as key<=value, key>=value or key=value');
  const [, key, op, raw] = match;
  const field = FIELD_BY_KEY.get(key);
  if (!field) return bad(`"${key}" is not a setting`);
  if (op !== '=' && field.kind !== 'number') return bad(`${key} is not a number, so only ${key}=value can fix it`);
  const read = coerce(field, raw);
  if (read.problem) return bad(read.problem.replace(/; using .*$/, ''));
  return { key: field.key, op: op as Limit['op'], value: String(read.value) };
}

/** The lesson parts of a link's key/value pairs (other keys are the settings codec's business). */
export function decodeLessonParams(pairs: readonly (readonly [string, string])[]): {
  lesson: AuthoredLesson;
  notices: string[];
} {
  const notices: string[] = [];
  const lesson: AuthoredLesson = { text: '', arms: [], charts: [], limits: [] };
  // arm, limit and charts add up; a second text, updates or goal replaces the first, and says so.
  for (const key of SINGLE_KEYS) {
    const count = pairs.filter(([k]) => k === key).length;
    if (count > 1) notices.push(`The lesson's ${key} appears ${count} times; the last one was used.`);
  }
  for (const [key, value] of pairs) {
    if (key === 'text') {
      const { text, stripped } = cleanMultiline(value);
      if (stripped)
        notices.push('Control characters (and text-direction overrides) were removed from the lesson text.');
      if (text.length > TEXT_MAX) notices.push(`The lesson text is cut to ${TEXT_MAX} characters.`);
      lesson.text = text.slice(0, TEXT_MAX);
    } else if (key === 'arm') {
      if (lesson.arms.length >= ARMS_MAX) {
        notices.push(`A lesson has at most ${ARMS_MAX} arms; "${shown(value)}" was left out.`);
        continue;
      }
      const arm = parseArm(value, notices);
      if (arm) lesson.arms.push(arm);
    } else if (key === 'updates') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > UPDATES_MAX)
        notices.push(`Updates per arm "${shown(value)}" must be a whole number 1…${UPDATES_MAX}; it was ignored.`);
      else lesson.updates = n;
    } else if (key === 'charts') {
      for (const name of value.split(',').filter((c) => c !== '')) {
        if (!isMetric(name)) notices.push(`Chart "${shown(name)}" is not a metric; it was left out.`);
        else if (lesson.charts.length >= CHARTS_MAX)
          notices.push(`A lesson shows at most ${CHARTS_MAX} charts; "${name}" was left out.`);
        else if (!lesson.charts.includes(name)) lesson.charts.push(name);
      }
    } else if (key === 'goal') {
      lesson.goal = parseGoal(value, notices);
    } else if (key === 'limit') {
      const limit = parseLimit(value, notices);
      if (limit) lesson.limits.push(limit);
    }
  }
  return { lesson, notices };
}

/** Percent-encoding that leaves the lesson syntax's own marks (| = ; , / @) readable in the address bar. */
export function linkText(value: string): string {
  return encodeURIComponent(value).replace(/%(7C|3D|3B|2C|2F|40)/g, (code) => decodeURIComponent(code));
}

/** The lesson as link parameters (`&text=…&arm=…`), empty for a lesson with nothing in it. */
export function encodeLessonParams(lesson: AuthoredLesson): string {
  const parts: string[] = [];
  const add = (key: string, value: string) => parts.push(`${key}=${linkText(value)}`);
  if (lesson.text) add('text', lesson.text.slice(0, TEXT_MAX));
  for (const arm of lesson.arms.slice(0, ARMS_MAX)) {
    const settings = Object.entries(arm.settings).map(([k, v]) => `${k}=${v}`);
    // '|' ends a label, so a label cannot hold one: it is written as '/'.
    add('arm', `${arm.label.slice(0, LABEL_MAX).replace(/\|/g, '/')}|${settings.join(';')}`);
  }
  if (lesson.updates !== undefined) add('updates', String(lesson.updates));
  if (lesson.charts.length > 0) add('charts', lesson.charts.slice(0, CHARTS_MAX).join(','));
  if (lesson.goal) {
    const g = lesson.goal;
    add('goal', `${g.metric}${g.op}${g.threshold}@${g.updates}`);
  }
  for (const limit of lesson.limits) add('limit', `${limit.key}${limit.op}${limit.value}`);
  return parts.length ? `&${parts.join('&')}` : '';
}

/** True when the lesson has anything to show or check (a link without one has `EMPTY_LESSON`). */
export function hasLesson(lesson: AuthoredLesson): boolean {
  return lesson.text !== '' || lesson.arms.length > 0 || lesson.goal !== undefined || lesson.charts.length > 0;
}

/**
 * Arms that name every key any arm changes, the others taking the base's value: an arm then means the
 * same settings whatever base link carries it (the address bar's, while arm 2 trains, is arm 2's).
 */
export function pinArms(arms: readonly LessonArm[], base: Config): LessonArm[] {
  const keys = new Set<ConfigKey>(arms.flatMap((arm) => Object.keys(arm.settings) as ConfigKey[]));
  return arms.map((arm) => {
    const settings: Partial<Record<ConfigKey, string>> = {};
    for (const field of FIELD_BY_KEY.values())
      if (keys.has(field.key)) settings[field.key] = arm.settings[field.key] ?? String(base[field.key]);
    return { label: arm.label, settings };
  });
}

/** Splits a hash's body (`a=1&b=2`) into decoded pairs, keeping a broken escape as typed. */
export function hashPairs(hash: string): [string, string][] {
  const body = hash.replace(/^.*#/, '');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return body
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? [decode(p), ''] : [decode(p.slice(0, eq)), decode(p.slice(eq + 1))];
    });
}
