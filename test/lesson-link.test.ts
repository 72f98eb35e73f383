// Issue 20, first part: a lesson inside a link — text, arms, updates, charts, a goal and limits —
// round-trips exactly, and anything malformed gets a notice and a safe value, never a throw.
import { describe, expect, it } from 'vitest';
import { Random } from '../src/engine/random';
import {
  ARMS_MAX,
  decodeLessonParams,
  encodeLessonParams,
  hashPairs,
  TEXT_MAX,
  type AuthoredLesson,
} from '../src/share/lesson-link';
import { findPreset } from '../src/presets';

const roundTrip = (lesson: AuthoredLesson) => decodeLessonParams(hashPairs(`#v=4${encodeLessonParams(lesson)}`));

describe('lesson links round-trip', () => {
  it('text with paragraphs, `inline code`, HTML-like, script-like and bidi text; 4 arms; a goal with limits', () => {
    const lesson: AuthoredLesson = {
      text: 'Run β = 0, then β = `0.1`.\n\nWhy does gold fall? <b>bold</b> <script>alert(1)</script> & %41 \u202eevil\u202c + ;|=',
      arms: [
        { label: 'β = 0', settings: { beta: '0' } },
        { label: 'β = 0.1 | careful; yes', settings: { beta: '0.1', task: 'preference' } },
        { label: 'GRPO', settings: { algorithm: 'grpo', groupSize: '8' } },
        { label: 'nothing changed', settings: {} },
      ],
      updates: 150,
      charts: ['reward/gold', 'kl/ref'],
      goal: { metric: 'reward/score', op: '>=', threshold: 0.9, updates: 100 },
      limits: [
        { key: 'beta', op: '<=', value: '0.05' },
        { key: 'algorithm', op: '=', value: 'ppo' },
      ],
    };
    const { lesson: back, notices } = roundTrip(lesson);
    // Text-direction overrides could reorder what the student reads: they are removed, with a notice.
    expect(notices).toEqual(['Control characters (and text-direction overrides) were removed from the lesson text.']);
    // '|' ends a label in the link, so a label's '|' is written as '/'.
    expect(back).toEqual({
      ...lesson,
      text: lesson.text.replace(/[\u202e\u202c]/g, ''),
      arms: lesson.arms.map((a, i) => (i === 1 ? { ...a, label: 'β = 0.1 / careful; yes' } : a)),
    });
    // What was read writes a link that reads back exactly, with nothing left to say.
    expect(roundTrip(back)).toEqual({ lesson: back, notices: [] });
  });

  it('an empty lesson writes nothing and reads back empty', () => {
    expect(encodeLessonParams({ text: '', arms: [], charts: [], limits: [] })).toBe('');
    expect(decodeLessonParams(hashPairs('#v=4&task=sort'))).toEqual({
      lesson: { text: '', arms: [], charts: [], limits: [] },
      notices: [],
    });
  });

  it('the longest built-in comparison lesson fits a shareable link', () => {
    // Lesson 17's text and its three arms, as an instructor would write them.
    const preset = findPreset('chain-of-thought');
    if (!preset?.arms) throw new Error('lesson 17 has arms');
    const lesson: AuthoredLesson = {
      text: preset.summary.slice(0, TEXT_MAX),
      arms: preset.arms.map((arm) => ({
        label: arm.label.slice(0, 40),
        settings: Object.fromEntries(hashPairs(arm.link).filter(([k]) => k !== 'v')),
      })),
      updates: preset.updates,
      charts: ['reward/score', 'episode/think_tracks'],
      limits: [],
    };
    const link = `#v=4${encodeLessonParams(lesson)}`;
    console.log(`lesson 17 written as a link: ${link.length} characters`);
    expect(link.length).toBeLessThan(4000);
    expect(roundTrip(lesson).notices).toEqual([]);
  });
});

describe('malformed lesson parts get a notice and a safe value', () => {
  const read = (hash: string) => decodeLessonParams(hashPairs(hash));

  it.each([
    ['#arm=|beta=0', /no label/],
    ['#arm=a|bta=0', /"bta=0" is not a known key=value/],
    ['#arm=a|beta=banana', /not a finite number; it was ignored/],
    ['#arm=a|beta=99', /outside 0…10; it was ignored/],
    ['#updates=0', /whole number 1…2000/],
    ['#updates=1e9', /whole number 1…2000/],
    ['#charts=reward/scor', /not a metric/],
    ['#goal=reward/score>0.9@100', /metric>=value@updates/],
    ['#goal=reward/scor>=0.9@100', /"reward\/scor" is not a metric/],
    ['#goal=reward/score>=0.9@0', /budget must be 1…2000/],
    ['#limit=beta<0.05', /key<=value/],
    ['#limit=algorithm<=ppo', /not a number, so only algorithm=value/],
    ['#limit=beta<=70', /outside 0…10/],
    ['#limit=nope=1', /"nope" is not a setting/],
    ['#text=a&text=b', /text appears 2 times; the last one was used/],
    ['#goal=reward/score>=0.9@100&goal=reward/score>=0.5@10', /goal appears 2 times/],
  ])('%s', (hash, notice) => {
    const { notices } = read(hash);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(notice);
  });

  it('an over-long text is cut, a fifth arm and a fifth chart are left out, each with a notice', () => {
    const arms = Array.from({ length: ARMS_MAX + 1 }, (_, i) => `&arm=arm${i}|seed=${i + 1}`).join('');
    const charts = '&charts=reward/score,kl/ref,policy/entropy,loss/value,episode/length';
    const { lesson, notices } = read(`#text=${'x'.repeat(TEXT_MAX + 5)}${arms}${charts}`);
    expect(lesson.text).toHaveLength(TEXT_MAX);
    expect(lesson.arms.map((a) => a.label)).toEqual(['arm0', 'arm1', 'arm2', 'arm3']);
    expect(lesson.charts).toHaveLength(4);
    expect(notices).toHaveLength(3);
  });

  it('never throws on 5,000 random and mutated lesson links, and every dropped part is explained', () => {
    const rng = new Random(20);
    const alphabet = [
      '=',
      '&',
      '|',
      ';',
      '%',
      '%E0',
      '<',
      '>',
      '@',
      ',',
      'beta',
      'arm',
      'goal',
      'limit',
      'x',
      '0.5',
      '\u202e',
      '\u0000',
      '😀',
    ];
    const keys = ['text', 'arm', 'updates', 'charts', 'goal', 'limit', 'seed'];
    let notices = 0;
    for (let i = 0; i < 5000; i++) {
      const parts = Array.from({ length: 1 + rng.int(5) }, () => {
        const value = Array.from({ length: rng.int(8) }, () => alphabet[rng.int(alphabet.length)]).join('');
        return `${keys[rng.int(keys.length)]}=${value}`;
      });
      const result = decodeLessonParams(hashPairs(`#v=4&${parts.join('&')}`));
      notices += result.notices.length;
      expect(result.lesson.arms.length).toBeLessThanOrEqual(ARMS_MAX);
      expect(result.lesson.text.length).toBeLessThanOrEqual(TEXT_MAX);
      // What survives decoding writes a link that reads back the same, with no notice.
      const again = decodeLessonParams(hashPairs(`#v=4${encodeLessonParams(result.lesson)}`));
      expect(again.lesson).toEqual(result.lesson);
    }
    console.log(`5,000 random lesson links: ${notices} notices`);
    expect(notices).toBeGreaterThan(1000);
  });
});
