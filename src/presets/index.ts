// Built-in presets: each is a link (DESIGN §6) plus what it is for. The lessons (`LESSONS`) are the
// instructors' gallery: each teaches one idea, names the updates it needs and makes one claim that
// test/presets.test.ts checks by running it headless. A comparison has two arms that differ only in the
// knob being taught, on the same seed; the app runs arm 2 after arm 1 and pins it for comparison.
//
// Lessons 1–8 use batch 32 and 30 format-pretraining steps (defaults 64 and 60): half the time per update,
// and every claim still holds with a clear margin (see the test for the numbers).

/** One side of a comparison. */
export interface PresetArm {
  /** Short name for a legend, e.g. "β = 0". */
  label: string;
  link: string;
}

export interface Preset {
  name: string;
  title: string;
  /** For students: what to watch on which chart and what it shows (a lesson: 2–4 sentences). */
  summary: string;
  /** The experiment; for a comparison, the first arm's link. */
  link: string;
  /** Lessons only: the one-line claim the lesson makes, checked in numbers by test/presets.test.ts. */
  lesson?: string;
  /** Lessons only: RL updates the lesson needs, per arm. */
  updates?: number;
  /** Comparisons only: the arms, in the order to run them; `arms[0].link === link`. */
  arms?: readonly PresetArm[];
}

/** A gallery lesson: a preset with its claim and length. */
export interface Lesson extends Preset {
  lesson: string;
  updates: number;
}

/** A comparison: the first arm is the preset's link. */
function compare(arms: readonly PresetArm[]): { link: string; arms: readonly PresetArm[] } {
  return { link: arms[0].link, arms };
}

// Links are written as the app shares them: schema keys in schema order, non-default values only.
// Lessons 1–8 run the target task (write `bad`) with batch 32 and 30 format-pretraining steps; lesson 9
// runs the RLHF pipeline (task preference) at its defaults. PPO
// lessons use learning rate 0.001: at the default 0.003, PPO can overshoot on this one-answer task and
// collapse after converging.
export const LESSONS: readonly Lesson[] = [
  {
    name: 'first-policy-gradient',
    title: '1 · A first policy gradient',
    summary:
      'REINFORCE samples 32 answers, scores each, and makes the better-than-average ones more likely: the simplest RL on tokens. ' +
      'Watch the reward chart climb from about 0.2 (random letters) to nearly 1 as the model learns to write `bad`, ' +
      'while the entropy chart falls: the policy stops guessing and commits to one answer.',
    link: '#v=1&task=target&algorithm=reinforce&batchSize=32&sftSteps=30',
    lesson: 'Mean score climbs from below 0.3 (updates 1–5) to above 0.9 (updates 56–60).',
    updates: 60,
  },
  {
    name: 'baselines',
    title: '2 · Baselines cut variance',
    summary:
      'Every score is positive, so without a baseline REINFORCE pushes up every sampled answer, good or bad, and only the noise decides by how much. ' +
      'Subtracting the batch-mean return (advantages not whitened in either arm, 4-letter word `bade`) keeps the same gradient on average but far less noise. ' +
      'Compare the reward charts: the baseline run climbs faster and ends higher on the same seed.',
    ...compare([
      {
        label: 'no baseline',
        link: '#v=1&task=target&targetWord=bade&algorithm=reinforce&baseline=none&whitenAdvantages=false&batchSize=32&sftSteps=30',
      },
      {
        label: 'batch-mean baseline',
        link: '#v=1&task=target&targetWord=bade&algorithm=reinforce&whitenAdvantages=false&batchSize=32&sftSteps=30',
      },
    ]),
    lesson: 'With a batch-mean baseline the mean score over updates 51–60 beats no baseline by at least 0.1.',
    updates: 60,
  },
  {
    name: 'critic-gae-lambda',
    title: '3 · A critic and GAE (λ)',
    summary:
      'Actor-critic scores each token with GAE: λ = 0 trusts the critic alone (one-step TD error), λ = 1 uses the real return minus the critic (Monte Carlo). ' +
      'The critic starts knowing nothing, so with λ = 0 the early letters get almost no learning signal: its reward chart stays flat for 60 updates while λ = 1 learns the word. ' +
      'Low variance is worth little when the critic is still wrong: that is bias.',
    ...compare([
      { label: 'λ = 0', link: '#v=1&task=target&algorithm=actor-critic&lambda=0&batchSize=32&sftSteps=30' },
      { label: 'λ = 1', link: '#v=1&task=target&algorithm=actor-critic&lambda=1&batchSize=32&sftSteps=30' },
    ]),
    lesson: 'With λ = 1 the mean score over updates 51–60 beats λ = 0 by at least 0.4.',
    updates: 60,
  },
  {
    name: 'ppo-epochs',
    title: '4 · PPO: epochs and the clip',
    summary:
      'PPO reuses each batch: 4 epochs × 4 minibatches make 16 optimizer steps per update instead of 4, so the reward chart rises in far fewer updates. ' +
      'Reusing old samples is safe only because the ratio π/π_old is clipped to [1 − ε, 1 + ε]: watch policy/clipfrac, the share of tokens where the clip holds the update back, rise with more epochs. ' +
      'Try clip ε = 1 with 8 epochs to see what the clip prevents.',
    ...compare([
      { label: '1 epoch', link: '#v=1&task=target&learningRate=0.001&batchSize=32&epochs=1&sftSteps=30' },
      { label: '4 epochs', link: '#v=1&task=target&learningRate=0.001&batchSize=32&sftSteps=30' },
    ]),
    lesson:
      'With 4 epochs the mean score over updates 1–30 beats 1 epoch by at least 0.2, and policy/clipfrac is at least 3 times higher.',
    updates: 30,
  },
  {
    name: 'kl-penalty',
    title: '5 · The KL penalty keeps the policy near the reference',
    summary:
      'Every token pays β·KL for drifting from the frozen reference (the model after format pretraining). ' +
      'With β = 0 nothing holds the policy back, so KL to the reference climbs past 4 nats and the entropy chart drops to almost 0 — mode collapse onto one answer. ' +
      'With β = 0.2 the policy trades some score for staying close: KL stays near 1 and entropy stays high.',
    ...compare([
      { label: 'β = 0', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&beta=0&sftSteps=30' },
      { label: 'β = 0.2', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&beta=0.2&sftSteps=30' },
    ]),
    lesson:
      'Over updates 56–60, entropy with β = 0 is at least 0.5 nats below β = 0.2, and KL to the reference at least 2 nats above.',
    updates: 60,
  },
  {
    name: 'temperature',
    title: '6 · Temperature and exploration',
    summary:
      'The logits are divided by the temperature before every softmax, so at temperature 2 the same network spreads its bets: more exploration, slower commitment. ' +
      'Compare the entropy charts: at 2 the policy is still exploring after 60 updates, and its reward chart climbs more slowly. ' +
      'The entropy bonus c_e pushes the same way, more gently.',
    ...compare([
      { label: 'temperature 1', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&sftSteps=30' },
      { label: 'temperature 2', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&temperature=2&sftSteps=30' },
    ]),
    lesson: 'Over updates 56–60, entropy at temperature 2 is at least 0.4 nats above temperature 1.',
    updates: 60,
  },
  {
    name: 'adaptive-kl',
    title: '7 · The adaptive KL controller',
    summary:
      'Instead of fixing β, set a KL target (1 nat per response) and let β follow: it rises while KL is above the target and falls while below (Ziegler et al. 2019). ' +
      'Both arms are PPO starting from β = 0.1: with β fixed, KL climbs past 4; with the controller, watch kl/beta move and the KL chart settle near 1.',
    ...compare([
      { label: 'fixed β = 0.1', link: '#v=1&task=target&learningRate=0.001&batchSize=32&beta=0.1&sftSteps=30' },
      {
        label: 'adaptive β, target 1',
        link: '#v=1&task=target&learningRate=0.001&batchSize=32&beta=0.1&adaptiveKl=true&klHorizon=100&sftSteps=30',
      },
    ]),
    lesson:
      'With adaptive β the mean KL over updates 41–60 is within 0.3 of the target 1 while β spans a factor of at least 2; with β fixed it is above 3.',
    updates: 60,
  },
  {
    name: 'sparse-reward',
    title: '8 · Sparse vs dense reward',
    summary:
      'Dense scoring gives credit for each right letter; sparse scoring gives 1 only for the exact answer and <eos>, which a random guess hits about once in 125 tries. ' +
      'With so rare a signal that does not say which letter was wrong, the sparse run barely learns in 60 updates while the dense one does. ' +
      'The dense score includes partial credit, so compare the answers in the inspector: nearly all `bad` in the dense run.',
    ...compare([
      { label: 'dense', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&sftSteps=30' },
      { label: 'sparse', link: '#v=1&task=target&scoring=sparse&algorithm=reinforce&batchSize=32&sftSteps=30' },
    ]),
    lesson: 'Over updates 51–60 the share of exact answers is at least 0.5 higher with dense scoring than with sparse.',
    updates: 60,
  },
  {
    name: 'reward-hacking',
    title: '9 · RLHF: the policy games its reward model',
    summary:
      'The preference task runs the whole RLHF pipeline: SFT on demonstrations, a reward model learnt from only 16 comparisons, then PPO against that model. ' +
      'With β = 0 the proxy reward keeps rising while the hidden human’s gold score peaks within a few updates and then falls: the policy finds responses the reward model overrates (watch the over-optimisation chart against √KL). ' +
      'With β = 0.1 the KL penalty keeps the policy where the reward model was trained, and gold stays near its peak.',
    ...compare([
      { label: 'β = 0', link: '#v=1&task=preference&learningRate=0.002&beta=0&comparisons=16&seed=2' },
      { label: 'β = 0.1', link: '#v=1&task=preference&learningRate=0.002&beta=0.1&comparisons=16&seed=2' },
    ]),
    lesson:
      'With β = 0 the proxy over updates 96–100 is at least 0.2 above updates 1–5 while gold ends at least 0.3 below its peak; with β = 0.1 gold ends within 0.1 of its peak.',
    updates: 100,
  },
  {
    name: 'guess',
    title: '10 · Agents: find a hidden letter from < > = hints',
    summary:
      'Each turn the policy guesses one of 16 letters and the environment answers < (lower), > (higher) or = (found). ' +
      'Those answers are observation tokens: context, not actions, so they carry no log-prob, KL or policy loss (dashed in the inspector). ' +
      'A letter found sooner scores more, so the best policy is a binary search, at most log2(16) + 1 = 5 turns; pick "Turns per episode" as the extra chart and watch it fall from about 6.5.',
    link: '#v=1&task=guess&alphabetSize=16&contextLength=18&learningRate=0.002&maxNewTokens=16',
    lesson: 'Mean turns over updates 131–150 are at most log2(16) + 2 = 6 and at least 0.5 below updates 1–10.',
    updates: 150,
  },
  {
    name: 'calculator',
    title: '11 · Agents: learning to use a tool',
    summary:
      'Two-digit additions are too many for this small model to memorise, but writing <calc> makes the environment write the sum into the episode as observation tokens. ' +
      'With tools on, the policy learns to call the calculator on every problem and copy its digits; with tools off, <calc> returns blanks and the score stays low. ' +
      'Pick "Tool calls per episode" as the extra chart, then try a cost per tool call to see when a tool stops paying.',
    ...compare([
      { label: 'tools on', link: '#v=1&task=calculator&contextLength=17&learningRate=0.002&maxNewTokens=9' },
      {
        label: 'tools off',
        link: '#v=1&task=calculator&contextLength=17&learningRate=0.002&maxNewTokens=9&tools=false',
      },
    ]),
    lesson:
      'With tools on, the mean score over updates 226–250 is at least 0.9 with at least 0.9 tool calls per episode; with tools off it is at least 0.5 lower.',
    updates: 250,
  },
  {
    name: 'retry',
    title: '12 · Agents: learning from feedback',
    summary:
      'The policy reverses 3 of 8 letters and gets a second try: after a wrong answer the environment writes <wrong> and where the first mistake is (@1, @2, …), reflexion-style. ' +
      'With feedback the policy has something to read before its second attempt; with blanks (_ _) it gets the same extra turn and nothing to go on. ' +
      'Compare the reward charts: the run with feedback climbs far sooner.',
    ...compare([
      { label: 'feedback', link: '#v=1&task=retry&alphabetSize=8&contextLength=15&learningRate=0.002&maxNewTokens=10' },
      {
        label: 'blanks',
        link: '#v=1&task=retry&alphabetSize=8&contextLength=15&learningRate=0.002&maxNewTokens=10&feedback=false',
      },
    ]),
    lesson: 'Over updates 41–80 the mean score with feedback is at least 0.3 above the mean score with blanks.',
    updates: 80,
  },
];

export const PRESETS: readonly Preset[] = [
  {
    name: 'default',
    title: 'PPO learns to reverse',
    summary: 'The default run: PPO with a small KL penalty teaches a tiny transformer to reverse 3 letters.',
    link: '#v=1',
  },
  ...LESSONS,
  {
    name: 'actor-critic-reverse',
    title: 'Actor-critic learns to reverse',
    summary:
      'Actor-critic learns a value for each prefix; one optimizer step per batch, so it needs 250–500 updates where PPO needs about 40.',
    link: '#v=1&algorithm=actor-critic&lambda=1&valueCoef=0.1&batchSize=32',
  },
  {
    name: 'rlhf-pipeline',
    title: 'The RLHF pipeline',
    summary:
      'Stage 1 fine-tunes on 64 demonstrations, stage 2 fits a reward model to 256 comparisons a hidden human made, stage 3 runs PPO against the reward model with a KL penalty (learning rate 0.001: at 0.003 PPO tends to collapse onto one response after ~50 updates here). Compare the proxy reward with the gold score the human would give.',
    link: '#v=1&task=preference&learningRate=0.001',
  },
  {
    name: 'sort',
    title: 'PPO learns to sort',
    summary: 'Sorting needs the whole prompt at every step: harder than reversing.',
    link: '#v=1&task=sort',
  },
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}
