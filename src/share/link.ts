// The preset-link codec (docs/reference.md §6): `#v=3&task=sort&algo=ppo&seed=7&lr=0.0003&hide=beta,clip`.
// Keys are config-schema names (a few short aliases are accepted); only non-defaults are written.
// Decoding never throws, whatever it is handed: every unknown key, bad value, duplicate, broken escape or
// oversized link becomes a short notice naming the setting, and a safe value (default, clamp or repair).
import {
  defaultConfig,
  FIELD_BY_KEY,
  FIELDS,
  RENAMED_SETTINGS,
  renamedValue,
  validate,
  type Config,
} from '../engine/config';
import {
  decodeLessonParams,
  EMPTY_LESSON,
  encodeLessonParams,
  LESSON_KEYS,
  pinArms,
  type AuthoredLesson,
} from './lesson-link';
import { HTML_LIKE, LINE_BREAKS, LONE_SURROGATE, UNSAFE } from './plain-text';

export const LINK_VERSION = 4;

/**
 * Links write only the settings that differ from the defaults, so a link means "these values, and the
 * defaults of its version for the rest". When a default changes, the version goes up and the old
 * defaults are listed here under the last version that had them: a v1 link keeps meaning exactly what
 * it meant when it was shared.
 */
export const EARLIER_DEFAULTS: Readonly<Record<number, Partial<Config>>> = {
  // v2 raised β, added an entropy bonus and lowered the learning rate: at v1's defaults PPO on reverse
  // loses its entropy and collapses after solving (worst 100-update window 0.50–0.67 over 1,000 updates,
  // seeds 1–3; v2: 0.89–0.96), and the default RLHF run collapses onto one response.
  1: { learningRate: 0.003, beta: 0.02, entropyCoef: 0 },
  // v3 doubled the batch: at 64 the default run still dipped below a 0.95 window mean on 4 of seeds 1–5
  // over 2,000 updates (worst 0.72–0.96); at 128 on 1 (0.948–0.976), and it reaches 0.9 in fewer updates
  // (23–29 against 32–42). lessons/DEFAULTS.md has the runs.
  2: { batchSize: 64 },
  // v4 shortened Adam's memory of gradient sizes (β₂ 0.999 → 0.99): at 0.999 one update after a quiet
  // spell moved the solved default run 2.5 nats (seed 3, update 315; 0.03 with Adam's moments reset) and
  // 3 of seeds 1–5 dipped below a 0.95 window mean over 2,000 updates. lessons/DEFAULTS.md has the runs.
  3: { adamBeta2: 0.999 },
};

/** The defaults a link of `version` was written against (the current ones for this or a newer version). */
export function defaultsOfVersion(version: number): Config {
  const config = defaultConfig();
  for (let v = LINK_VERSION - 1; v >= version; v--) Object.assign(config, EARLIER_DEFAULTS[v] ?? {});
  return config;
}

/** Short names people type in links; the canonical name is always the schema key. */
export const KEY_ALIASES: Readonly<Record<string, string>> = {
  algo: 'algorithm',
  lr: 'learningRate',
  clip: 'clipEpsilon',
};

export interface DecodedLink {
  config: Config;
  notices: string[];
  hide: string[];
  autoplay: boolean;
  /** Open with "Explain this update" ready (explain=1): the instructor's "open this and press Explain". */
  explain: boolean;
  title: string;
  version: number;
  /** An instructor's lesson (text, arms, charts, a goal); `EMPTY_LESSON` when the link has none. */
  lesson: AuthoredLesson;
}

export const LINK_LIMITS = {
  /** Characters of the hash (or query) that are read; the rest of a longer link is ignored. */
  maxLength: 8192,
  /** UTF-16 code units of a title; a longer title is cut at a character boundary. */
  maxTitleLength: 120,
  /** Notices returned at most (the first one then says how many were left out). */
  maxNotices: 20,
  /** Unknown keys, names in `hide`, broken escapes: how many are listed one by one. */
  maxListed: 5,
  /** Characters of a link's text quoted inside a notice. */
  maxQuoted: 40,
} as const;

/** The keys a link may hold besides the schema's. */
const EXTRA_KEYS: readonly string[] = ['v', 'hide', 'autoplay', 'explain', 'title'];

export function encodeLink(
  config: Partial<Config>,
  extras: { hide?: string[]; autoplay?: boolean; explain?: boolean; title?: string; lesson?: AuthoredLesson } = {},
): string {
  const source = (config ?? {}) as Record<string, unknown>;
  const parts = [`v=${LINK_VERSION}`];
  for (const field of FIELDS) {
    const value = source[field.key];
    // `===` also treats -0 as the default 0; String(n) is the shortest text that reads back as n.
    if (value === undefined || value === field.default) continue;
    if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') continue;
    parts.push(`${field.key}=${component(String(value))}`);
  }
  const hide: string[] = [];
  for (const name of Array.isArray(extras?.hide) ? extras.hide : []) {
    const key = typeof name === 'string' ? canonicalKey(name) : undefined;
    if (key !== undefined && FIELD_BY_KEY.has(key) && !hide.includes(key)) hide.push(key);
  }
  if (hide.length > 0) parts.push(`hide=${hide.join(',')}`);
  if (extras?.autoplay === true) parts.push('autoplay=1');
  if (extras?.explain === true) parts.push('explain=1');
  const title = typeof extras?.title === 'string' ? cleanTitle(extras.title).title : '';
  if (title !== '') parts.push(`title=${component(title)}`);
  // A lesson's arms are written in full against this link's settings, so they keep their meaning.
  const lesson = extras?.lesson;
  const base = { ...defaultConfig(), ...source } as Config;
  const lessonParams = lesson ? encodeLessonParams({ ...lesson, arms: pinArms(lesson.arms, base) }) : '';
  return `#${parts.join('&')}${lessonParams}`;
}

/**
 * Accepts a full URL, a `#hash` or a bare query string. Never throws: anything else (undefined, a
 * number, an object) gives the default config and a notice.
 */
export function decodeLink(link: string): DecodedLink {
  try {
    return decode(link as unknown);
  } catch {
    // Not expected (the fuzz test checks it never happens), but a link must never break the page.
    return {
      config: defaultConfig(),
      notices: ['The link could not be read; using the default settings.'],
      hide: [],
      autoplay: false,
      explain: false,
      title: '',
      version: LINK_VERSION,
      lesson: EMPTY_LESSON,
    };
  }
}

interface Entry {
  value: string;
  /** Written without `=` (`&autoplay`). */
  bare: boolean;
  count: number;
  /** The last occurrence was cut off by the length limit (its escapes may be incomplete). */
  cut: boolean;
}

function decode(link: unknown): DecodedLink {
  const { maxLength, maxListed } = LINK_LIMITS;
  // Notices by kind (see the end for their order).
  const general: string[] = [];
  const duplicates: string[] = [];
  const encoding: string[] = [];
  const unknown: string[] = [];
  const extras: string[] = [];

  let text = '';
  if (typeof link === 'string') text = link;
  else general.push(`The link is not text (got ${describeType(link)}); using the default settings.`);

  let body = linkBody(text);
  let cutAt = -1;
  if (body.length > maxLength) {
    let end = maxLength;
    if (isHighSurrogate(body.charCodeAt(end - 1))) end--;
    const complete = body[end] === '&';
    body = body.slice(0, end);
    const lastStart = body.lastIndexOf('&') + 1;
    const partial = body.slice(lastStart);
    const partialKey = percentDecode(partial.split('=', 1)[0]).text;
    let dropped = '';
    if (!complete && partial !== '') {
      // A cut value would be read wrongly (seed=12345 cut to seed=12): drop it, except a title (capped
      // far below the limit anyway) and a hide list (only its last, cut name is dropped).
      const lastComma = body.lastIndexOf(',');
      if (partialKey === 'title') cutAt = lastStart;
      else if (partialKey === 'hide' && lastComma > lastStart) body = body.slice(0, lastComma);
      else {
        body = body.slice(0, lastStart);
        dropped = partialKey;
      }
    }
    general.push(
      `The link is too long (${text.length} characters); only the first ${maxLength} were read` +
        (dropped === '' ? '.' : `, and "${quote(dropped)}", cut off there, was ignored.`),
    );
  }

  const entries = new Map<string, Entry>();
  // A lesson's keys (arm, limit) may repeat, in order: they are read apart from the settings.
  const lessonPairs: [string, string][] = [];
  const unknownSeen = new Set<string>();
  let unknownCount = 0;
  let brokenCount = 0;
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf('&', start);
    if (end < 0) end = body.length;
    const part = body.slice(start, end);
    const isCut = start === cutAt;
    start = end + 1;
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : '';
    const name = percentDecode(rawKey);
    if ((LESSON_KEYS as readonly string[]).includes(name.text)) {
      lessonPairs.push([name.text, percentDecode(rawValue).text]);
      continue;
    }
    const renamed = Object.hasOwn(RENAMED_SETTINGS, name.text) ? RENAMED_SETTINGS[name.text] : undefined;
    const key = renamed ? renamed.key : canonicalKey(name.text);
    if (key === undefined) {
      if (!unknownSeen.has(name.text)) {
        unknownSeen.add(name.text);
        if (unknownCount++ < maxListed) unknown.push(unknownNotice(name.text, name.broken, rawKey, rawValue));
      }
      continue;
    }
    const value = percentDecode(rawValue);
    if (value.broken && !isCut && brokenCount++ < maxListed) {
      encoding.push(`${settingName(key)}: "${quote(rawValue)}" has broken percent-encoding; read as typed.`);
    }
    const text = renamed ? String(renamedValue(name.text, value.text)) : value.text;
    const previous = entries.get(key);
    entries.set(key, { value: text, bare: eq < 0, count: (previous?.count ?? 0) + 1, cut: isCut });
  }
  if (unknownCount > maxListed) {
    unknown.push(`${unknownCount - maxListed} more unknown settings were ignored.`);
  }
  if (brokenCount > maxListed) {
    encoding.push(`${brokenCount - maxListed} more values had broken percent-encoding; read as typed.`);
  }
  for (const [key, entry] of entries) {
    if (entry.count > 1) {
      duplicates.push(
        `${settingName(key)} appears ${entry.count} times; the last value ("${quote(entry.value)}") was used.`,
      );
    }
  }

  // v: the format version. Missing means the current one (hand-typed links).
  let version = LINK_VERSION;
  const v = entries.get('v');
  if (v !== undefined) {
    const n = v.value.trim() === '' ? NaN : Number(v.value);
    if (Number.isSafeInteger(n) && n >= 1) version = n;
    else general.push(`The link version "${quote(v.value)}" is not valid; read as version ${LINK_VERSION}.`);
  }
  if (version > LINK_VERSION) {
    general.push(
      `This link was made by a newer version (v=${version}); settings this version knows were read, others ignored.`,
    );
  }

  // hide: a comma-separated list of schema keys (or aliases), kept once each, in the link's order.
  const hide: string[] = [];
  const hideEntry = entries.get('hide');
  if (hideEntry !== undefined) {
    const bad = new Set<string>();
    for (const item of hideEntry.value.split(',')) {
      const name = item.trim();
      if (name === '') continue;
      const key = canonicalKey(name);
      if (key !== undefined && FIELD_BY_KEY.has(key)) {
        if (!hide.includes(key)) hide.push(key);
      } else if (!bad.has(name)) {
        bad.add(name);
        if (bad.size <= maxListed) extras.push(`hide: "${quote(name)}" is not a setting; ignored.`);
      }
    }
    if (bad.size > maxListed)
      extras.push(`hide: ${bad.size - maxListed} more names that are not settings were ignored.`);
  }

  // autoplay: 1/true starts training on open; explain: 1/true opens "Explain this update". A bare key counts as on.
  const flag = (key: 'autoplay' | 'explain', off: string): boolean => {
    const entry = entries.get(key);
    if (entry === undefined) return false;
    const word = entry.value.trim().toLowerCase();
    if (entry.bare || word === '1' || word === 'true') return true;
    if (word !== '0' && word !== 'false' && word !== '')
      extras.push(`${key}: "${quote(entry.value)}" is not 1 or 0; ${off}`);
    return false;
  };
  const autoplay = flag('autoplay', 'training will not start by itself.');
  const explain = flag('explain', 'the update explainer will not open by itself.');

  // title: plain text (the app renders it as text, never as HTML), without control characters, capped.
  let title = '';
  const titleEntry = entries.get('title');
  if (titleEntry !== undefined) {
    const cleaned = cleanTitle(titleEntry.value);
    title = cleaned.title;
    if (cleaned.stripped) extras.push('Control characters were removed from the title.');
    if (cleaned.cut && !titleEntry.cut) {
      extras.push(`The title is too long; it was cut to ${LINK_LIMITS.maxTitleLength} characters.`);
    }
    const html = HTML_LIKE.exec(title);
    if (html) extras.push(`The title contains HTML-like text ("${quote(html[0])}"); it is shown as plain text.`);
  }

  // Settings: validate() clamps, falls back and repairs cross-field rules, and says what it did. An
  // older link's unwritten settings take the defaults of its version.
  const raw: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const entry = entries.get(field.key);
    if (entry !== undefined) raw[field.key] = entry.value;
  }
  const { config, problems } = validate(raw, defaultsOfVersion(version));
  const values = problems.map((p) => p.message);

  const read = decodeLessonParams(lessonPairs);
  const lesson = { ...read.lesson, arms: pinArms(read.lesson.arms, config) };
  extras.push(...read.notices);

  // Least important first: the app's banner keeps only the newest few, so the ones that matter most
  // (the link as a whole, then values that were changed) come last and are the last to be pushed out.
  const all = [...extras, ...encoding, ...duplicates, ...unknown, ...values, ...general].map(cleanNotice);
  const notices =
    all.length <= LINK_LIMITS.maxNotices
      ? all
      : [
          `${all.length - LINK_LIMITS.maxNotices + 1} more problems with this link were not listed.`,
          ...all.slice(all.length - LINK_LIMITS.maxNotices + 1),
        ];
  return { config, notices, hide, autoplay, explain, title, version, lesson };
}

/** The part of a URL that holds the settings: after `#`, else after `?` of a URL, else all of it. */
function linkBody(text: string): string {
  const hashAt = text.indexOf('#');
  if (hashAt >= 0) return text.slice(hashAt + 1);
  const queryAt = text.indexOf('?');
  if (queryAt >= 0 && !/[=&]/.test(text.slice(0, queryAt))) return text.slice(queryAt + 1);
  return text;
}

/** The schema key a link key stands for (itself, an alias, or an extra such as `hide`), else undefined. */
function canonicalKey(key: string): string | undefined {
  if (FIELD_BY_KEY.has(key) || EXTRA_KEYS.includes(key)) return key;
  if (Object.hasOwn(KEY_ALIASES, key) && FIELD_BY_KEY.has(KEY_ALIASES[key])) return KEY_ALIASES[key];
  return undefined;
}

/** "Seed (seed)" for a setting, the bare key for `v`, `hide`, `autoplay`, `title`. */
function settingName(key: string): string {
  const field = FIELD_BY_KEY.get(key);
  return field ? `${field.label} (${field.key})` : key;
}

function unknownNotice(key: string, broken: boolean, rawKey: string, rawValue: string): string {
  if (key.trim() === '') {
    return `A value with no setting name ("${quote(rawValue)}") was ignored.`;
  }
  if (broken) return `Unknown setting "${quote(rawKey)}" ignored (it has broken percent-encoding).`;
  const lower = key.trim().toLowerCase();
  const candidates = [...FIELDS.map((f) => f.key), ...EXTRA_KEYS, ...Object.keys(KEY_ALIASES)];
  const near = candidates.find((c) => c.toLowerCase() === lower);
  const suggestion = near === undefined ? '' : `; did you mean "${canonicalKey(near) ?? near}"?`;
  return `Unknown setting "${quote(key)}" ignored${suggestion === '' ? '.' : suggestion}`;
}

/** `+` is a space; valid %XX runs are decoded, broken ones kept as typed (and reported). */
function percentDecode(text: string): { text: string; broken: boolean } {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return { text: spaced, broken: false };
  try {
    return { text: decodeURIComponent(spaced), broken: false };
  } catch {
    const partly = spaced.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
    return { text: partly, broken: true };
  }
}

/** URLSearchParams-style escaping (space as `+`); never throws, even on lone surrogates. */
function component(text: string): string {
  return encodeURIComponent(text.replace(LONE_SURROGATE, '\ufffd'))
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

let segmenter: Intl.Segmenter | null | undefined;

/** A title as plain text: line breaks become spaces, other control characters go, capped length. */
function cleanTitle(text: string): { title: string; stripped: boolean; cut: boolean } {
  const plain = text.replace(LINE_BREAKS, ' ').replace(UNSAFE, '');
  const stripped = plain !== text;
  const trimmed = plain.trim();
  const max = LINK_LIMITS.maxTitleLength;
  if (trimmed.length <= max) return { title: trimmed, stripped, cut: false };
  // Cut at a character boundary: whole grapheme clusters (an emoji with its modifiers) where possible.
  if (segmenter === undefined) segmenter = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter() : null;
  let title = '';
  const pieces = segmenter ? Array.from(segmenter.segment(trimmed.slice(0, max * 2)), (s) => s.segment) : trimmed;
  for (const piece of pieces) {
    if (title.length + piece.length > max) break;
    title += piece;
  }
  return { title: title.trimEnd(), stripped, cut: true };
}

/** Link text quoted in a notice: unsafe characters shown as �, at most maxQuoted characters. */
function quote(text: string): string {
  const max = LINK_LIMITS.maxQuoted;
  const chars = Array.from(text.slice(0, max * 4).replace(UNSAFE, '\ufffd'));
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : chars.join('');
}

/** A notice as safe text (validate() quotes raw values), at most 300 characters. */
function cleanNotice(message: string): string {
  const clean = message.replace(UNSAFE, '\ufffd');
  if (clean.length <= 300) return clean;
  const end = isHighSurrogate(clean.charCodeAt(298)) ? 298 : 299;
  return `${clean.slice(0, end)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}
