// Property-based fuzzing of the preset-link codec: random text, mutated valid links (characters inserted,
// deleted or replaced, segments duplicated, schema keys with random values, very long values) and
// non-string inputs. decodeLink must never throw and must always hand back a config that validate()
// accepts unchanged, a hide list of schema keys, a capped plain-text title and a few safe notices.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELDS, validate, type Config, type Field } from '../src/engine/config';
import { ARMS_MAX, CHARTS_MAX, LABEL_MAX, LESSON_KEYS, TEXT_MAX } from '../src/share/lesson-link';
import { decodeLink, encodeLink, KEY_ALIASES, LINK_LIMITS, type DecodedLink } from '../src/share/link';

const SCHEMA_KEYS: readonly string[] = FIELDS.map((f) => f.key);
const LINK_KEYS: readonly string[] = [
  ...SCHEMA_KEYS,
  ...Object.keys(KEY_ALIASES),
  'v',
  'hide',
  'autoplay',
  'explain',
  'title',
  ...LESSON_KEYS,
];

const UNSAFE =
  // eslint-disable-next-line no-control-regex -- notices and titles must not carry control characters
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Everything a decoded link must satisfy, whatever went in. Plain checks: this runs 10,000+ times. */
function checkDecoded(decoded: DecodedLink): void {
  const { config, notices, hide, autoplay, explain, title, version } = decoded;
  const again = validate(config);
  if (again.problems.length > 0) throw new Error(`validate() found problems: ${JSON.stringify(again.problems)}`);
  expect(again.config).toEqual(config);
  if (Object.keys(config).length !== SCHEMA_KEYS.length) throw new Error('config has extra or missing keys');
  if (!Array.isArray(hide) || hide.some((k) => !SCHEMA_KEYS.includes(k))) throw new Error(`bad hide: ${hide}`);
  if (new Set(hide).size !== hide.length) throw new Error(`hide has duplicates: ${hide}`);
  if (typeof autoplay !== 'boolean') throw new Error('autoplay is not a boolean');
  if (typeof explain !== 'boolean') throw new Error('explain is not a boolean');
  if (typeof title !== 'string' || title.length > LINK_LIMITS.maxTitleLength) throw new Error(`title too long`);
  if (UNSAFE.test(title)) throw new Error(`unsafe character in title ${JSON.stringify(title)}`);
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`bad version ${version}`);
  // A lesson: capped, plain text (line breaks only in its text), and it writes a link that reads back the same.
  const { lesson } = decoded;
  if (lesson.text.length > TEXT_MAX || UNSAFE.test(lesson.text.replace(/\n/g, ' '))) throw new Error('bad lesson text');
  if (lesson.arms.length > ARMS_MAX || lesson.charts.length > CHARTS_MAX) throw new Error('too many arms or charts');
  for (const arm of lesson.arms)
    if (arm.label === '' || arm.label.length > LABEL_MAX || UNSAFE.test(arm.label)) throw new Error('bad arm label');
  if (lesson.arms.length + lesson.limits.length + lesson.charts.length > 0 || lesson.text !== '' || lesson.goal) {
    const back = decodeLink(encodeLink(config, { lesson }));
    expect(back.lesson).toEqual(lesson);
  }
  if (notices.length > LINK_LIMITS.maxNotices) throw new Error(`${notices.length} notices`);
  for (const notice of notices) {
    if (typeof notice !== 'string' || notice === '' || notice.length > 300) throw new Error(`bad notice ${notice}`);
    if (UNSAFE.test(notice)) throw new Error(`unsafe character in notice ${JSON.stringify(notice)}`);
    if (notice.startsWith('The link could not be read')) throw new Error('decodeLink hit its last-resort catch');
  }
}

// --- Building blocks ---------------------------------------------------------------------------------

/** One piece of text: link syntax, broken escapes, control/bidi characters, lone surrogates, any code point. */
const piece = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '&',
      '=',
      '#',
      '?',
      '%',
      '+',
      ',',
      '%2',
      '%E0',
      '%E0%A4',
      '%ZZ',
      '%00',
      '%25',
      '%26',
      '%3D',
      '%ED%A0%80',
      '%F0%9F%9A%80',
      '\u0000',
      '\u0007',
      '\n',
      '\u202e',
      '\u2066',
      '\ufeff',
      '\ud800',
      '\udc00',
      '😀',
      '👍🏽',
      'ש',
      'ب',
      '<script>',
      '</',
      '-',
      '.',
      'e',
      ' ',
    ),
  },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }) },
);
const junk = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: piece, maxLength });

/** Very long text: most links stay short, a few reach past the 8 KB read limit to ~120 KB. */
const longText = fc
  .tuple(
    fc.constantFrom('9', 'A', '%', '%E0', '&', ',', '=', '😀', '\ud800', 'beta,', 'seed=1&', '%F0%9F%98%80'),
    fc.integer({ min: 100, max: 120_000 }),
  )
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)));

const numberText = fc.oneof(
  fc.double().map(String), // NaN, ±Infinity, -0, subnormals, huge
  fc.integer().map(String),
  fc.double({ min: -10, max: 2e6, noNaN: true }).map(String),
  fc.bigInt().map(String),
  fc.constantFrom(
    '',
    ' ',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e999',
    '-1e999',
    '0x10',
    '0b11',
    '1_000',
    '١٢',
    '+5',
    '.5',
    '5.',
    '1e-7',
  ),
);

const valueText = fc.oneof(
  { weight: 4, arbitrary: numberText },
  { weight: 3, arbitrary: junk(24) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...FIELDS.flatMap((f) => (f.kind === 'choice' ? f.choices : [])),
      'true',
      'false',
      '1',
      '0',
    ),
  },
  { weight: 2, arbitrary: fc.subarray([...LINK_KEYS, 'nope', '', ' ']).map((keys) => keys.join(',')) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{0,14}$/) },
  { weight: 1, arbitrary: longText },
);

const keyText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...LINK_KEYS) },
  { weight: 2, arbitrary: junk(12) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'Seed', 'LR', 'V', ''),
  },
);

/** Percent-encodes some of the time, like a browser would; raw (even unencodable) text otherwise. */
function maybeEscaped(text: string, escape: boolean): string {
  if (!escape) return text;
  try {
    return encodeURIComponent(text);
  } catch {
    return text; // lone surrogates cannot be escaped
  }
}

const segment = fc
  .tuple(keyText, valueText, fc.boolean(), fc.boolean())
  .map(([key, value, escape, bare]) => (bare ? maybeEscaped(key, escape) : `${key}=${maybeEscaped(value, escape)}`));

const prefix = fc.constantFrom('', '#', '#v=1&', '?', 'https://example.org/app/?backend=wasm#', 'v=1&', '##', '#&&');

// Valid configs, as the app would encode them: random fields at random values, repaired by validate().
function fieldValue(field: Field): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'number':
      return field.integer
        ? fc.integer({ min: field.min, max: field.max })
        : fc.double({ min: field.min, max: field.max, noNaN: true }).map((n) => (n === 0 ? 0 : n)); // -0 reads as 0
    case 'choice':
      return fc.constantFrom(...field.choices);
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.stringMatching(/^[a-p]{1,12}$/);
  }
}
const validConfig: fc.Arbitrary<Config> = fc
  .record(Object.fromEntries(FIELDS.map((f) => [f.key, fieldValue(f)])), { requiredKeys: [] })
  .map((raw) => validate(raw).config);
const extrasArb = fc.record({
  hide: fc.subarray([...SCHEMA_KEYS]),
  autoplay: fc.boolean(),
  explain: fc.boolean(),
  title: fc.oneof(fc.constant(''), fc.string({ unit: 'grapheme', maxLength: 40 }), junk(40)),
});
const validLink = fc.tuple(validConfig, extrasArb).map(([config, extras]) => encodeLink(config, extras));

type Mutation =
  | { op: 'insert' | 'replace'; at: number; text: string }
  | { op: 'delete'; at: number; count: number }
  | { op: 'duplicate' | 'truncate'; at: number }
  | { op: 'segment'; at: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(), text: junk(6) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constantFrom('duplicate' as const, 'truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('segment' as const), at: fc.nat(), text: segment }),
);

function mutate(link: string, m: Mutation): string {
  const at = m.at % (link.length + 1);
  switch (m.op) {
    case 'insert':
      return link.slice(0, at) + m.text + link.slice(at);
    case 'replace':
      return link.slice(0, at) + m.text + link.slice(at + m.text.length);
    case 'delete':
      return link.slice(0, at) + link.slice(at + m.count);
    case 'truncate':
      return link.slice(0, at);
    case 'duplicate':
    case 'segment': {
      const parts = link.split('&');
      const i = m.at % parts.length;
      parts.splice(i, 0, m.op === 'segment' ? m.text : parts[i]);
      return parts.join('&');
    }
  }
}

const mutatedLink = fc
  .tuple(validLink, fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([link, mutations]) => mutations.reduce(mutate, link));
const structuredLink = fc
  .tuple(prefix, fc.array(segment, { maxLength: 12 }))
  .map(([start, parts]) => start + parts.join('&'));
const randomLink = fc.tuple(prefix, junk(200)).map(([start, body]) => start + body);

// --- Properties -----------------------------------------------------------------------------------------

describe('decodeLink under fuzzing', () => {
  it('never throws on 10,000 random and mutated links, and always returns a valid config', () => {
    const link = fc.oneof(
      { weight: 5, arbitrary: mutatedLink },
      { weight: 3, arbitrary: structuredLink },
      { weight: 2, arbitrary: randomLink },
    );
    fc.assert(
      fc.property(link, (text) => checkDecoded(decodeLink(text))),
      { numRuns: 10_000 },
    );
  });

  it('never throws on non-string input', () => {
    const input = fc.anything({
      withNullPrototype: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withBigInt: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
    });
    fc.assert(
      fc.property(input, (value) => checkDecoded(decodeLink(value as string))),
      { numRuns: 1_000 },
    );
  });

  it('stays silent only when every key is known and given once', () => {
    // A silent decode must be a faithful one: an unknown or repeated key always gets a notice.
    const canonical = (key: string): string => (Object.hasOwn(KEY_ALIASES, key) ? KEY_ALIASES[key] : key);
    const pairs = fc.array(fc.tuple(keyText, valueText), { maxLength: 8 }).map((list) =>
      list.flatMap(([key, value]) => {
        try {
          return [[key, encodeURIComponent(key), encodeURIComponent(value)] as const];
        } catch {
          return []; // lone surrogates cannot be escaped
        }
      }),
    );
    fc.assert(
      fc.property(pairs, (list) => {
        const decoded = decodeLink(`#${list.map(([, key, value]) => `${key}=${value}`).join('&')}`);
        checkDecoded(decoded);
        if (decoded.notices.length > 0) return;
        const keys = list.map(([key]) => key);
        if (!keys.every((k) => LINK_KEYS.includes(k))) throw new Error(`unknown key read silently: ${keys}`);
        // A lesson's arm=, limit= and charts= may repeat (each adds); any other key must not.
        const once = keys.map(canonical).filter((k) => !['arm', 'limit', 'charts'].includes(k));
        if (new Set(once).size !== once.length) throw new Error(`repeated key read silently: ${keys}`);
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips random valid configs and extras exactly, without notices', () => {
    fc.assert(
      fc.property(validConfig, extrasArb, (config, extras) => {
        const link = encodeLink(config, extras);
        const decoded = decodeLink(link);
        checkDecoded(decoded);
        expect(decoded.config).toEqual(config);
        expect(decoded.hide).toEqual(extras.hide);
        expect(decoded.autoplay).toBe(extras.autoplay);
        expect(decoded.explain).toBe(extras.explain);
        // The title is cleaned on encode (control characters, length); what was written reads back as is.
        expect(decoded.notices.filter((n) => !n.startsWith('The title contains HTML-like text'))).toEqual([]);
        expect(encodeLink(decoded.config, decoded)).toBe(link);
      }),
      { numRuns: 2_000 },
    );
  });
});
