// Issue 20: an instructor's lesson in a link. The goal check on hand-made histories (met, missed, running,
// a broken limit), the live watch that remembers a limit broken mid-run, the text as paragraphs and code
// runs only, lesson links through decodeLink/encodeLink (arms pinned to full settings), and every
// built-in lesson written as a lesson link that reads back to the same arms.
import { describe, expect, it } from 'vitest';
import { ChallengeWatch } from '../src/app/lesson/challenge.svelte';
import { draftOf, readDraft } from '../src/app/lesson/lesson-draft';
import { lessonParagraphs } from '../src/app/lesson/lesson-text';
import { defaultConfig, validate } from '../src/engine/config';
import type { Metrics } from '../src/engine/metrics';
import { armConfig, lessonLink, lessonOfPreset, lessonPreset } from '../src/lessons/authored';
import { brokenLimit, goalStatus } from '../src/lessons/goal';
import { LESSONS } from '../src/presets';
import type { Goal } from '../src/share/lesson-link';
import { decodeLink, encodeLink } from '../src/share/link';

const history = (scores: number[]): Metrics[] =>
  scores.map((score, i) => ({ update: i + 1, 'reward/score': score }) as Metrics);

describe('the goal check', () => {
  const goal: Goal = { metric: 'reward/score', op: '>=', threshold: 0.5, updates: 8 };

  it('is met at the first update whose last-5 mean reaches the threshold, not at one lucky update', () => {
    const ten: Goal = { ...goal, updates: 10 };
    // Update 6 alone scores 1; the windows ending at 6, 7 and 8 average 0.28, 0.38 and 0.48; at 9, 0.58.
    const scores = [0.1, 0.1, 0.1, 0.1, 0.1, 1, 0.6, 0.6, 0.6, 0.6];
    expect(goalStatus(ten, history(scores.slice(0, 8))).state).toBe('running');
    const met = goalStatus(ten, history(scores));
    expect(met).toMatchObject({ state: 'met', update: 9 });
    expect(met.value).toBeCloseTo(0.58, 12);
    expect(met.text).toBe('Met: score 0.58 at update 9 of 10 (goal ≥ 0.5, mean of the last 5 updates).');
  });

  it('reports progress while running and "not met" once the budget is spent; updates past it do not count', () => {
    const running = goalStatus(goal, history([0.2, 0.3, 0.4]));
    expect(running).toMatchObject({ state: 'running', update: 3 });
    expect(running.value).toBeCloseTo(0.3, 12);
    expect(running.text).toBe('score 0.3 at update 3 of 8 (goal ≥ 0.5).');
    const missed = goalStatus(goal, history([0.2, 0.3, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 1, 1, 1, 1, 1]));
    expect(missed).toMatchObject({ state: 'missed', update: 8 });
    expect(missed.text).toBe('Not met: score 0.4 at update 8 of 8; the goal was ≥ 0.5.');
    expect(goalStatus(goal, []).state).toBe('waiting');
  });

  it('a ≤ goal is met by getting down to the threshold; a budget under 5 averages what it has', () => {
    const low: Goal = { metric: 'reward/score', op: '<=', threshold: 0.25, updates: 2 };
    expect(goalStatus(low, history([0.3])).state).toBe('running');
    expect(goalStatus(low, history([0.3, 0.2])).state).toBe('met');
    expect(goalStatus(low, history([0.4, 0.2])).state).toBe('missed');
  });

  it('limits: ≤ and ≥ on numbers, = on anything; the first broken one is named', () => {
    const config = validate({ beta: 0.1, algorithm: 'grpo', groupSize: 4 }).config;
    expect(brokenLimit([{ key: 'beta', op: '<=', value: '0.1' }], config)).toBeUndefined();
    expect(brokenLimit([{ key: 'beta', op: '>=', value: '0.1' }], config)).toBeUndefined();
    expect(brokenLimit([{ key: 'beta', op: '<=', value: '0.05' }], config)).toBe(
      'beta is 0.1, but the challenge needs beta ≤ 0.05',
    );
    expect(
      brokenLimit(
        [
          { key: 'groupSize', op: '>=', value: '4' },
          { key: 'algorithm', op: '=', value: 'ppo' },
        ],
        config,
      ),
    ).toBe('algorithm is grpo, but the challenge needs algorithm = ppo');
    const status = goalStatus(goal, history([1]), 'x');
    expect(status.state).toBe('broken');
  });

  it('the live watch remembers a limit broken mid-run, forgets it on a new run, and ignores changes once decided', () => {
    const lesson = {
      text: '',
      arms: [],
      charts: [],
      goal: { metric: 'reward/score', op: '>=', threshold: 0.9, updates: 10 } as Goal,
      limits: [{ key: 'beta' as const, op: '<=' as const, value: '0.05' }],
    };
    const ok = defaultConfig();
    const tooHigh = { ...ok, beta: 0.2 };
    const watch = new ChallengeWatch();
    const run1 = history([0.2, 0.3]);
    watch.observe(lesson, run1, ok);
    expect(watch.status(lesson, run1)?.state).toBe('running');
    watch.observe(lesson, run1, tooHigh);
    // Turning β back down does not undo it: the run trained with β = 0.2.
    watch.observe(lesson, run1, ok);
    expect(watch.status(lesson, run1)).toMatchObject({
      state: 'broken',
      text: 'Not met: beta is 0.2, but the challenge needs beta ≤ 0.05.',
    });
    const run2 = history([0.95, 0.95, 0.95, 0.95, 0.95]);
    watch.observe(lesson, run2, ok);
    expect(watch.status(lesson, run2)?.state).toBe('met');
    watch.observe(lesson, run2, tooHigh);
    expect(watch.status(lesson, run2)?.state).toBe('met');
  });
});

describe('lesson text', () => {
  it('is paragraphs of plain runs and `code` runs; markup stays text', () => {
    expect(
      lessonParagraphs('Run `beta = 0`, then `0.1`.\n\n<b>Why</b> <script>x()</script>\nsecond line\n\n\n`'),
    ).toEqual([
      [
        { text: 'Run ', code: false },
        { text: 'beta = 0', code: true },
        { text: ', then ', code: false },
        { text: '0.1', code: true },
        { text: '.', code: false },
      ],
      [{ text: '<b>Why</b> <script>x()</script>\nsecond line', code: false }],
      [{ text: '`', code: false }],
    ]);
  });
});

describe('lesson links in decodeLink and encodeLink', () => {
  it('a lesson link decodes to its settings and lesson; arms name every key any arm changes', () => {
    const link = decodeLink('#v=4&task=target&title=KL&text=Why%3F&arm=none|beta=0&arm=more|beta=0.5;seed=2&updates=5');
    expect(link.notices).toEqual([]);
    expect(link.config.task).toBe('target');
    expect(link.lesson.arms).toEqual([
      { label: 'none', settings: { beta: '0', seed: '1' } },
      { label: 'more', settings: { beta: '0.5', seed: '2' } },
    ]);
    // The address bar while arm 2 trains holds arm 2's settings: its arms still mean the same runs.
    const arm2 = armConfig(link.config, link.lesson.arms[1]);
    const again = decodeLink(lessonLink({ ...link, config: arm2 }));
    expect(again.lesson).toEqual(link.lesson);
    expect(armConfig(again.config, again.lesson.arms[0])).toEqual(armConfig(link.config, link.lesson.arms[0]));
  });

  it('the comparison preset runs each arm from a link that keeps the lesson on screen', () => {
    const source = decodeLink('#v=4&task=target&text=Compare&arm=a|beta=0&arm=b|beta=0.5&updates=7');
    const preset = lessonPreset(source);
    expect(preset.updates).toBe(7);
    expect(preset.arms?.map((a) => decodeLink(a.link).config.beta)).toEqual([0, 0.5]);
    expect(preset.arms?.map((a) => decodeLink(a.link).lesson)).toEqual([source.lesson, source.lesson]);
  });

  it('lesson notices join the link’s, and a lesson-less link writes no lesson keys', () => {
    const link = decodeLink('#v=4&arm=a|bogus=1&goal=nope');
    expect(link.notices.join('\n')).toMatch(/"bogus=1" is not a known key=value/);
    expect(link.notices.join('\n')).toMatch(/Goal "nope"/);
    expect(encodeLink(defaultConfig())).toBe('#v=4');
  });

  it('every built-in lesson written as a lesson link reads back to its arms; the longest is reported', () => {
    let longest = { name: '', length: 0 };
    for (const preset of LESSONS) {
      const source = lessonOfPreset(preset);
      const link = lessonLink(source);
      const back = decodeLink(link);
      expect(back.notices, preset.name).toEqual([]);
      // Each arm runs exactly the built-in arm's settings.
      for (const [i, arm] of (preset.arms ?? []).entries())
        expect(armConfig(back.config, back.lesson.arms[i]), `${preset.name} arm ${i + 1}`).toEqual(
          decodeLink(arm.link).config,
        );
      if (link.length > longest.length) longest = { name: preset.name, length: link.length };
    }
    console.log(`longest built-in lesson as a link: ${longest.name}, ${longest.length} characters`);
    expect(longest.length).toBeLessThan(4000);
  });

  it('the editor’s draft reads back through the link codec, so its preview is what a student gets', () => {
    const source = lessonOfPreset(LESSONS.find((l) => l.arms) ?? LESSONS[0]);
    const { decoded, link } = readDraft(draftOf(source));
    expect(decoded.notices).toEqual([]);
    expect(link).toBe(lessonLink(source));
    const draft = draftOf(source);
    draft.arms.push({ label: 'x', settings: 'beta=banana' });
    draft.goal.enabled = true;
    expect(readDraft(draft).decoded.notices.join('\n')).toMatch(/Arm "x": .*banana/);
    expect(readDraft(draft).decoded.lesson.goal).toEqual({
      metric: 'reward/score',
      op: '>=',
      threshold: 0.9,
      updates: 100,
    });
  });
});
