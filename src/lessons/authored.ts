// An instructor's lesson (a lesson link) and the gallery's built-in lessons, each as the other: an authored
// lesson runs through the same LessonRunner as a built-in comparison, and a built-in lesson opens in the
// lesson editor as a starting point.
import { FIELDS, validate, type Config, type ConfigKey } from '../engine/config';
import type { Preset } from '../presets';
import { EMPTY_LESSON, LABEL_MAX, pinArms, TEXT_MAX, type AuthoredLesson, type LessonArm } from '../share/lesson-link';
import { decodeLink, encodeLink } from '../share/link';

/** Arm length when a lesson does not say (the gallery's comparisons use the same). */
export const DEFAULT_ARM_UPDATES = 60;

/** What a lesson link holds besides the lesson: the base settings, hidden controls and title. */
export interface LessonSource {
  config: Config;
  hide: string[];
  title: string;
  lesson: AuthoredLesson;
}

/** An arm's settings on top of the base (the arm's strings read as a link reads them). */
export function armConfig(base: Config, arm: LessonArm): Config {
  return validate({ ...base, ...arm.settings }).config;
}

/** The settings that differ from `base`, as a link writes them. */
export function settingsDiff(config: Config, base: Config): Partial<Record<ConfigKey, string>> {
  const diff: Partial<Record<ConfigKey, string>> = {};
  for (const field of FIELDS) if (config[field.key] !== base[field.key]) diff[field.key] = String(config[field.key]);
  return diff;
}

/** An arm's settings for people: "beta = 0, seed = 2" (or what an arm without any runs). */
export function describeArm(arm: LessonArm): string {
  const pairs = Object.entries(arm.settings).map(([k, v]) => `${k} = ${v}`);
  return pairs.length > 0 ? pairs.join(', ') : 'the base settings';
}

/** The whole lesson as a link: its base settings, hidden controls, title and lesson. */
export function lessonLink(source: LessonSource): string {
  return encodeLink(source.config, { hide: source.hide, title: source.title, lesson: source.lesson });
}

/**
 * The lesson as a gallery comparison: each arm's link is the lesson link with the arm's settings, so the
 * text, the charts and the goal stay on screen while every arm trains, and a pinned arm's link reopens it.
 */
export function lessonPreset(source: LessonSource): Preset {
  const arms = source.lesson.arms.map((arm) => ({
    label: arm.label,
    link: lessonLink({ ...source, config: armConfig(source.config, arm) }),
  }));
  return {
    name: 'authored',
    title: source.title || 'Lesson',
    summary: source.lesson.text,
    link: arms[0]?.link ?? lessonLink(source),
    updates: source.lesson.updates ?? DEFAULT_ARM_UPDATES,
    arms,
  };
}

/** A built-in lesson in the editor's terms: its first arm is the base, its text the summary and claim. */
export function lessonOfPreset(preset: Preset): LessonSource {
  const base = decodeLink(preset.link);
  // The claim follows the summary when both fit; a claim cut mid-sentence would misstate it.
  const claim = preset.lesson ? `\n\nWhat it shows, measured on seeds 1–5: ${preset.lesson}` : '';
  const text = `${preset.summary}${claim}`.length <= TEXT_MAX ? `${preset.summary}${claim}` : preset.summary;
  const arms = (preset.arms ?? []).map((arm) => ({
    label: arm.label.slice(0, LABEL_MAX),
    settings: settingsDiff(decodeLink(arm.link).config, base.config),
  }));
  return {
    config: base.config,
    hide: base.hide,
    title: preset.title,
    lesson: {
      ...EMPTY_LESSON,
      text: text.slice(0, TEXT_MAX),
      arms: pinArms(arms, base.config),
      ...(preset.updates !== undefined ? { updates: preset.updates } : {}),
    },
  };
}
