// Built-in presets: each is a link (docs/reference.md §6) plus what it is for. The lessons (`LESSONS`) are the
// instructors' gallery: each teaches one idea, names the updates it needs and makes one claim that
// src/lessons/claims.ts checks in numbers: test/presets.test.ts on the preset's seed, `npm run lessons` on
// seeds 1–5 (lessons/RESULTS.md). A claim states only what holds on at least 4 of those 5 seeds, with the
// measured range. A comparison has two arms that differ only in the knob being taught, on the same seed;
// the app runs arm 2 after arm 1 and pins it for comparison.
//
// Lessons 1–3 and 5–8 use 30 format-pretraining steps (default 60) and, except the baselines lesson,
// batch 32 (default 128): a quarter of the time per update.

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
  /** Lessons only: the one-line claim the lesson makes, checked in numbers by src/lessons/claims.ts. */
  lesson?: string;
  /** Lessons only: RL updates the lesson needs, per arm. */
  updates?: number;
  /** Lessons only: too long for the unit suite (minutes per arm); `npm run lessons` checks its claim. */
  heavy?: boolean;
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
// Lessons 1–3 and 5–8 run the target task (write `bad`) with 30 format-pretraining steps; lesson 4
// runs the default preset (PPO on reverse), which stays solved over 2,000 updates (PPO on target does
// not: lessons/DEFAULTS.md); lesson 9 runs the RLHF pipeline (task preference). A lesson keeps the link
// version it was measured under.
export const LESSONS: readonly Lesson[] = [
  {
    name: 'first-policy-gradient',
    title: '1 · A first policy gradient',
    summary:
      'REINFORCE samples 64 answers, scores each, and makes the better-than-average ones more likely: the simplest RL on tokens. ' +
      'Watch the reward chart climb from about 0.2 (random letters) to nearly 1 as the model learns to write `bad`, ' +
      'while the entropy chart falls: the policy stops guessing and commits to one answer.',
    link: '#v=1&task=target&algorithm=reinforce&sftSteps=30',
    lesson:
      'Mean score climbs from below 0.3 over updates 1–5 to above 0.9 over updates 56–60 (0.14–0.27 to 0.98–0.99 on seeds 1–5).',
    updates: 60,
  },
  {
    name: 'baselines',
    title: '2 · Baselines cut variance',
    summary:
      'Every score is positive, so without a baseline REINFORCE pushes up every sampled answer, good or bad, and only the noise decides by how much. ' +
      'Subtracting the batch-mean return (advantages not whitened in either arm, 4-letter word `bade`, batch 64) keeps the same gradient on average but far less noise. ' +
      'Compare the reward charts: the baseline run learns the word on every seed, while without one some seeds are still far from it after 60 updates.',
    ...compare([
      {
        label: 'no baseline',
        link: '#v=1&task=target&targetWord=bade&algorithm=reinforce&baseline=none&whitenAdvantages=false&sftSteps=30',
      },
      {
        label: 'batch-mean baseline',
        link: '#v=1&task=target&targetWord=bade&algorithm=reinforce&whitenAdvantages=false&sftSteps=30',
      },
    ]),
    lesson:
      'With a batch-mean baseline the mean score over updates 51–60 is above 0.85 and beats no baseline by at least 0.1 (0.89–0.96 against 0.39–0.86 on seeds 1–5).',
    updates: 60,
  },
  {
    name: 'critic-gae-lambda',
    title: '3 · A critic and GAE (λ)',
    summary:
      'Actor-critic scores each token with GAE: λ = 0 trusts the critic alone (one-step TD error), λ = 1 uses the real return minus the critic (Monte Carlo). ' +
      'The critic starts knowing nothing, so with λ = 0 the early letters get almost no learning signal: its reward chart barely moves in 150 updates while λ = 1 learns the word (today’s defaults: a small step, an entropy bonus). ' +
      'Low variance is worth little when the critic is still wrong: that is bias.',
    ...compare([
      { label: 'λ = 0', link: '#v=3&task=target&algorithm=actor-critic&lambda=0&batchSize=32&sftSteps=30' },
      { label: 'λ = 1', link: '#v=3&task=target&algorithm=actor-critic&lambda=1&batchSize=32&sftSteps=30' },
    ]),
    lesson:
      'With λ = 1 the mean score over updates 141–150 beats λ = 0 by at least 0.4 (0.94–0.97 against 0.20–0.27 on seeds 1–5).',
    updates: 150,
  },
  {
    name: 'ppo-epochs',
    title: '4 · PPO: epochs and the clip',
    summary:
      'PPO reuses each batch: 4 epochs × 4 minibatches make 16 optimizer steps per update instead of 4, so the reward chart rises in far fewer updates. ' +
      'Reusing old samples is safe only because the ratio π/π_old is clipped to [1 − ε, 1 + ε]: watch policy/clipfrac, the share of tokens where the clip holds the update back, rise with more epochs. ' +
      'Try clip ε = 1 with 8 epochs to see what the clip prevents.',
    ...compare([
      { label: '1 epoch', link: '#v=4&epochs=1' },
      { label: '4 epochs (the default run)', link: '#v=4' },
    ]),
    lesson:
      'With 4 epochs the mean score over updates 1–30 beats 1 epoch by at least 0.15 and policy/clipfrac is at least 3 times higher (by 0.38–0.46 and 7–31 times on seeds 1–5).',
    heavy: true,
    updates: 30,
  },
  {
    name: 'kl-penalty',
    title: '5 · The KL penalty keeps the policy near the reference',
    summary:
      'Every token pays β·KL for drifting from the frozen reference (the model after format pretraining). ' +
      'With β = 0 nothing holds the policy back, so KL to the reference climbs past 3 nats and the entropy chart drops towards 0 — mode collapse onto one answer. ' +
      'With β = 0.2 the policy trades some score for staying close: KL stays near 1 and entropy stays high.',
    ...compare([
      { label: 'β = 0', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&beta=0&sftSteps=30' },
      { label: 'β = 0.2', link: '#v=1&task=target&algorithm=reinforce&batchSize=32&beta=0.2&sftSteps=30' },
    ]),
    lesson:
      'Over updates 56–60, entropy with β = 0 is at least 0.5 nats below β = 0.2 and KL to the reference at least 2 nats above (by 0.57–0.92 and 2.3–3.7 nats on seeds 1–5).',
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
      { label: 'temperature 1', link: '#v=1&task=target&algorithm=reinforce&sftSteps=30' },
      { label: 'temperature 2', link: '#v=1&task=target&algorithm=reinforce&temperature=2&sftSteps=30' },
    ]),
    lesson:
      'Over updates 56–60, entropy at temperature 2 is at least 0.25 nats above temperature 1 and the mean score is lower (by 0.30–0.91 nats and 0.09–0.43 on seeds 1–5).',
    updates: 60,
  },
  {
    name: 'adaptive-kl',
    title: '7 · The adaptive KL controller',
    summary:
      'Instead of fixing β, set a KL target (1 nat per response) and let β follow: it rises while KL is above the target and falls while below (Ziegler et al. 2019). ' +
      'Both arms are PPO starting from β = 0.1: with β fixed, KL climbs to about 4; with the controller, watch kl/beta move and the KL chart settle near 1.',
    ...compare([
      { label: 'fixed β = 0.1', link: '#v=1&task=target&learningRate=0.001&batchSize=32&beta=0.1&sftSteps=30' },
      {
        label: 'adaptive β, target 1',
        link: '#v=1&task=target&learningRate=0.001&batchSize=32&beta=0.1&adaptiveKl=true&klHorizon=100&sftSteps=30',
      },
    ]),
    lesson:
      'With adaptive β the mean KL over updates 41–60 is within 0.3 of the target 1 while β spans a factor of at least 2; with β fixed it is above 3 (adaptive KL 0.93–1.10 with β spanning 3.1–4.1 times, fixed KL 3.7–3.9, on seeds 1–5).',
    updates: 60,
  },
  {
    name: 'sparse-reward',
    title: '8 · Sparse vs dense reward',
    summary:
      'Dense scoring gives credit for each right letter; sparse scoring gives 1 only for the exact answer and <eos>, which a random guess hits about once in 125 tries. ' +
      'With so rare a signal that does not say which letter was wrong, the sparse run barely learns in 60 updates on most seeds while the dense one does; on seed 3 its first exact answers come often enough (1 to 4 of 64 per update) to snowball, and it catches up. ' +
      'The dense score includes partial credit, so compare the answers in the inspector: most are exactly `bad` in the dense run.',
    ...compare([
      { label: 'dense', link: '#v=1&task=target&algorithm=reinforce&sftSteps=30' },
      { label: 'sparse', link: '#v=1&task=target&scoring=sparse&algorithm=reinforce&sftSteps=30' },
    ]),
    lesson:
      'Over updates 51–60 the share of exact answers is at least 0.5 higher with dense scoring than with sparse (0.93–0.97 against 0.005–0.017 on seeds 1, 2, 4 and 5; on seed 3 the sparse run found the word too, 0.96).',
    updates: 60,
  },
  {
    name: 'reward-hacking',
    title: '9 · RLHF: the policy games its reward model',
    summary:
      'The preference task runs the whole RLHF pipeline: SFT on demonstrations, a reward model learnt from only 16 comparisons, then PPO against that model. ' +
      'Sixteen comparisons teach it that the human likes a, b and c, but not that the human dislikes repeats and long answers, so with β = 0 the policy drifts to answers like `aca`, then `aa` and `aaaaa` (this link’s seed 5): the proxy reward rises while the hidden human’s gold score falls from its peak (watch the over-optimisation chart against √KL). ' +
      'With β = 0.1 the KL penalty keeps the policy near the responses the reward model was trained on, and gold stays at its peak.',
    ...compare([
      { label: 'β = 0', link: '#v=1&task=preference&learningRate=0.001&beta=0&comparisons=16&seed=5' },
      { label: 'β = 0.1', link: '#v=1&task=preference&learningRate=0.001&beta=0.1&comparisons=16&seed=5' },
    ]),
    lesson:
      'With β = 0 the proxy’s best 5-update window is at least 0.3 above updates 1–5 and gold ends at least 0.05 below its peak; with β = 0.1 gold ends within 0.05 of its peak (on 4 of seeds 1–5: proxy up 0.45–0.68, gold down 0.11–0.33 — on seed 5 it ends at 0.50, at 10.8 nats of KL —, against 0.00–0.03 with β = 0.1; on seed 3 gold has not fallen by update 300).',
    heavy: true,
    updates: 300,
  },
  {
    name: 'guess',
    title: '10 · Agents: find a hidden letter from < > = hints',
    summary:
      'Each turn the policy guesses one of 16 letters and the environment answers < (lower), > (higher) or = (found). ' +
      'Those answers are observation tokens: context, not actions, so they carry no log-prob, KL or policy loss (dashed in the inspector). ' +
      'A letter found sooner scores more, so the best policy is a binary search: at most log2(16) + 1 = 5 turns, 3.375 on average; pick "Turns per episode" as the extra chart and watch it fall from about 6.3. ' +
      'The run samples 256 episodes per update: at 64 the gradient is so noisy that it stalls at 5–5.5 turns.',
    link: '#v=1&task=guess&alphabetSize=16&contextLength=18&learningRate=0.002&batchSize=256&maxNewTokens=16',
    lesson:
      'Mean turns over updates 131–150 are at most 4.5 and at least 1.5 below updates 1–10, and the mean score rises by at least 0.3 (turns 6.2–6.5 to 3.7–3.9, score 0.24–0.27 to 0.64–0.66 on seeds 1–5; a binary search needs 3.375 turns, score 0.70).',
    heavy: true,
    updates: 150,
  },
  {
    name: 'calculator',
    title: '11 · Agents: learning to use a tool',
    summary:
      'Two-digit additions are too many for this small model to memorise, but writing <calc> makes the environment write the sum into the episode as observation tokens. ' +
      'With tools on, the policy learns to call the calculator on every problem and copy its digits; with tools off, <calc> returns blanks and the score stays low. ' +
      'The run samples 256 episodes per update: at 64 (the playground’s first defaults) some seeds stop after two digits of a three-digit sum, worth 2/3 there, and stay stuck. ' +
      'Pick "Tool calls per episode" as the extra chart, then try a cost per tool call to see when a tool stops paying.',
    ...compare([
      {
        label: 'tools on',
        link: '#v=4&task=calculator&contextLength=17&learningRate=0.002&batchSize=256&maxNewTokens=9',
      },
      {
        label: 'tools off',
        link: '#v=4&task=calculator&contextLength=17&learningRate=0.002&batchSize=256&maxNewTokens=9&tools=false',
      },
    ]),
    lesson:
      'With tools on, the mean score over updates 226–250 is at least 0.9 with at least 0.9 tool calls per episode, and at least 0.45 above tools off (on 5 of seeds 1–5: 0.964–0.981 with 1.000 calls, against 0.341–0.471).',
    heavy: true,
    updates: 250,
  },
  {
    name: 'mode-collapse',
    title: '12 · Mode collapse: a solved task comes undone',
    summary:
      'PPO reverses 3 letters and both runs solve it within about 50 updates; keep watching the entropy chart. ' +
      'With the playground’s first defaults (learning rate 0.003, no entropy bonus, β = 0.02) the entropy falls to about 0: every prompt gets one fixed answer, and a wrong one stays wrong because nothing else is ever sampled; on seed 3 the policy also drops <eos> from most answers for a while (over updates 151–200 it ends only 21% of them) and pads them to 5 letters, while KL to the reference climbs from about 5 to 11 nats (pick "<eos> rate" as the extra chart). ' +
      'Today’s defaults (link version 4) take a smaller step with an entropy bonus of 0.01 and β = 0.05, sample 128 answers per update instead of 64, and give Adam a shorter memory of gradient sizes (β₂ = 0.99 instead of 0.999), so one update after a quiet spell cannot move every weight a full step at once: the entropy stays above that of the first run and the score stays near 0.95.',
    ...compare([
      { label: 'lr 0.003, no entropy bonus, batch 64', link: '#v=2&entropyCoef=0&learningRate=0.003&beta=0.02' },
      { label: 'today’s defaults (batch 128, Adam β₂ 0.99)', link: '#v=4' },
    ]),
    lesson:
      'After both runs first solve the task (updates 22–48), the worst 100-update window of the score is at most 0.9 without the stabilisers and at least 0.95 with them, and the entropy without them falls lower (on 4 of seeds 1–5: worst windows 0.37–0.83 against 0.953–0.963; lowest entropy 0.001–0.016 against 0.052–0.063 nats per token; on seed 1 the stabilised run also dips, to 0.93, against 0.48 without the stabilisers).',
    heavy: true,
    updates: 800,
  },
  {
    name: 'grpo-vs-ppo',
    title: '13 · GRPO: no critic, the group is the baseline',
    summary:
      'GRPO samples 8 answers to each prompt and scores each against the other 7: the advantage is (score − group mean) / group std, with no value network at all, so the value-loss chart stays empty. ' +
      'PPO learns a critic to get its baseline; both then take the same clipped steps. ' +
      'On reversing, both reach a score of 0.9 in about the same number of updates; pick "KL moved by the update" as the extra chart: GRPO moves the policy about a fifth as far per update, and yet learns as fast.',
    ...compare([
      { label: 'PPO (critic)', link: '#v=4' },
      { label: 'GRPO, groups of 8', link: '#v=4&algorithm=grpo&groupSize=8' },
    ]),
    lesson:
      'Both reach a 5-update mean score of 0.9 within 40 updates, GRPO within 1.3× the updates PPO needs and without a value head, and GRPO’s mean update KL is below half of PPO’s (PPO 22–29 updates, GRPO 24–27; mean update KL over updates 1–40 0.073–0.110 against 0.015–0.022 nats per token, seeds 1–5).',
    heavy: true,
    updates: 40,
  },
  {
    name: 'dr-grpo-length',
    title: '14 · Dr. GRPO and the length bias',
    summary:
      'GRPO averages each answer’s token losses over that answer’s own length, so a long wrong answer is pushed down less per token than a short one. ' +
      'Dr. GRPO divides by a constant instead and drops the group’s std; this compares the two changes together, as the paper does. ' +
      'There is no format pretraining here and answers may run to 10 tokens, so lengths are free to drift (pick "Length of wrong answers" as the extra chart); GRPO still solves the task sooner, in 20–22 updates against 33–46 on seeds 1–5, so the bias is in what its mistakes look like.',
    ...compare([
      {
        label: 'GRPO (per-answer mean)',
        link: '#v=3&contextLength=15&algorithm=grpo&groupSize=8&beta=0&maxNewTokens=10&sftSteps=0',
      },
      {
        label: 'Dr. GRPO (constant, no std)',
        link: '#v=3&contextLength=15&algorithm=grpo&groupSize=8&lossAgg=constant&stdNorm=false&beta=0&maxNewTokens=10&sftSteps=0',
      },
    ]),
    lesson:
      'Over updates 1–80, GRPO’s wrong answers are at least 0.2 tokens longer on average than Dr. GRPO’s (on 4 of seeds 1–5: by 0.29–0.67 tokens, GRPO 4.60–4.80 against 4.10–4.31 tokens; on seed 2 by 0.13).',
    heavy: true,
    updates: 80,
  },
  {
    name: 'rloo-vs-reinforce',
    title: '15 · RLOO: leave one out',
    summary:
      'Both arms sample 8 answers to each of 16 prompts and take one policy-gradient step per batch; they differ in the baseline and in what gets credited. ' +
      'REINFORCE judges each token by its reward-to-go minus the batch’s mean return; RLOO judges the whole answer by its return minus the mean return of the other 7 answers to the same prompt, a baseline that cannot depend on the answer it judges. ' +
      'The reward charts climb at about the same pace: reversing is about equally hard for every prompt, so a per-prompt baseline has little to correct here, and what RLOO buys is a baseline with no critic and no bias. ' +
      'Both take one step per batch, which is why GRPO (lesson 13), with PPO’s 16 steps per batch, is so much faster.',
    ...compare([
      { label: 'REINFORCE, batch-mean baseline', link: '#v=3&algorithm=reinforce&groupSize=8' },
      { label: 'RLOO, leave-one-out', link: '#v=3&algorithm=rloo&groupSize=8' },
    ]),
    lesson:
      'With the same 16 prompts × 8 answers and one step per batch, the two end up about level: over updates 101–150 their mean scores are within 0.15 of each other (4 of seeds 1–5; RLOO 0.59–0.67, REINFORCE 0.39–0.79 over all five; on seed 1 RLOO leads by 0.20).',
    heavy: true,
    updates: 150,
  },
  {
    name: 'trpo-vs-ppo',
    title: '16 · TRPO vs PPO: one trust region, two ways',
    summary:
      'Both want steps that do not move the policy too far from the one that sampled the batch. ' +
      'TRPO takes one natural-gradient step and shrinks it (line search) until the mean KL to the old policy is at most δ = 0.05 nats per token, every update; PPO takes 16 Adam steps and only clips the ratio, so how far it moves depends on the learning rate, the epochs and the batch. ' +
      'Pick "KL moved by the update" as the extra chart, where TRPO’s line stays just under its bound (every step is scaled to a KL of δ however small the gradient) and PPO’s jumps early, then falls towards 0 once the task is solved. ' +
      'One step per batch costs TRPO speed here, as PPO reaches a score of 0.9 in 22–29 updates and TRPO within 60 updates on 1 of seeds 1–5.',
    ...compare([
      { label: 'TRPO, δ = 0.05', link: '#v=4&algorithm=trpo' },
      { label: 'PPO', link: '#v=4' },
    ]),
    lesson:
      'TRPO’s step never moves the policy more than δ = 0.05 nats per token (largest 0.047–0.050; every step accepted, after 0.2–0.4 backtracks per update on average), while PPO’s update KL is above δ on 53–65% of its updates and spans a factor of 21–224 from its smallest to its largest, against TRPO’s 1.9–3.8 (seeds 1–5, 60 updates).',
    heavy: true,
    updates: 60,
  },
  {
    name: 'chain-of-thought',
    title: '17 · Thinking: a scratchpad the model knows how to use',
    summary:
      'The prompt is a table of 6 letters read as arrows (a points to the first letter, b to the second, …), and the answer is where 3 arrows from a end; only that answer is scored. ' +
      'A 2-layer model cannot follow 3 arrows within one token, since every hop after the first needs the letter the last one found, but between <think> and </think> it may first write 2 letters and take one hop per token (the inspector frames them; "via" names the letters on the chain). ' +
      'When pretraining shows only the layout with random letters, RL does not discover what to write there; when half the pretraining examples are worked solutions, RL turns that habit into a reliable one and overtakes a model that must answer at once, though it saw the right answer in half its examples too. ' +
      'Pick "Scratchpad on the chain" as the extra chart.',
    ...compare([
      {
        label: 'answer at once (half the examples solved)',
        link: '#v=4&task=chain&alphabetSize=6&nLayers=2&contextLength=13&sftSteps=600&hops=3&thinkTokens=0&solvedDemos=0.5',
      },
      {
        label: 'scratchpad, layout only',
        link: '#v=4&task=chain&alphabetSize=6&nLayers=2&contextLength=14&maxNewTokens=6&sftSteps=600&hops=3',
      },
      {
        label: 'scratchpad, half the examples worked',
        link: '#v=4&task=chain&alphabetSize=6&nLayers=2&contextLength=14&maxNewTokens=6&sftSteps=600&hops=3&solvedDemos=0.5',
      },
    ]),
    lesson:
      'Over updates 176–200 the run with worked solutions scores at least 0.1 above the one answering at once, with its scratchpad on the chain in at least 80% of answers, while the layout-only scratchpad is on the chain in at most 10% (on 4 of seeds 1–5: 0.90–0.93 with 92–94% on the chain, against 0.65–0.79 at once; the layout-only scratchpad scores 0.50–0.60 and is on the chain in under 2% on all five; on seed 4 the worked-solution run had not taken off by update 200: 0.59, 62% on the chain).',
    heavy: true,
    updates: 200,
  },
  {
    name: 'retry-feedback',
    title: '18 · Agents: feedback when the answer is hidden',
    summary:
      'The policy must write 4 hidden letters, each a or b, and sees nothing but <bos> <sep>: its first attempt is a guess. ' +
      'After a wrong one the environment writes <wrong> and where the first mistake is (@1 … @4), then the policy tries once more for at most 0.8; with feedback off it writes blanks. ' +
      'With feedback the policy learns to keep the letters before the marked one and flip the marked one; with blanks the second try is another guess. ' +
      'With the prompt visible (the retry preset) the feedback adds nothing, because the answer is already in the prompt.',
    ...compare([
      {
        label: 'feedback',
        link: '#v=4&task=retry&alphabetSize=2&promptLength=4&contextLength=14&batchSize=256&maxNewTokens=12&hiddenAnswer=true',
      },
      {
        label: 'blanks',
        link: '#v=4&task=retry&alphabetSize=2&promptLength=4&contextLength=14&batchSize=256&maxNewTokens=12&feedback=false&hiddenAnswer=true',
      },
    ]),
    lesson:
      'With feedback the mean score over updates 576–600 is at least 0.05 above blanks and at least 0.05 above its own updates 1–25 (on 5 of seeds 1–5: 0.551–0.579 against 0.430–0.436, a gap of 0.120–0.145; the best second attempt would reach 0.60, a second guess 0.4375).',
    heavy: true,
    updates: 600,
  },
];

export const PRESETS: readonly Preset[] = [
  {
    name: 'default',
    title: 'PPO learns to reverse',
    summary:
      'The default run: PPO with a small KL penalty and entropy bonus, 128 answers per update, teaches a tiny transformer to reverse 3 letters (a 5-update mean of 0.9 after 22–29 updates on seeds 1–5) and stays solved (every later 100-update window 0.953 or more on four seeds). ' +
      'On seed 1, this link’s, one unusually large update near update 147 makes every answer drop <eos> for about eight updates (the right reversal padded with two letters: score 0.6), then it recovers: lesson 12’s collapse in small. Pick "<eos> rate" as the extra chart to watch it.',
    link: '#v=4',
  },
  ...LESSONS,
  {
    name: 'actor-critic-reverse',
    title: 'Actor-critic learns to reverse',
    summary:
      'Actor-critic learns a value for each prefix; one optimizer step per batch, so it needs many more updates than PPO: a 5-update mean score of 0.9 after 209–269 updates on seeds 1–5, where PPO needs about 25. It then stays solved: over 2,000 updates every 100-update window after that scores 0.965 or more on every seed.',
    link: '#v=4&algorithm=actor-critic&lambda=1&valueCoef=0.1&batchSize=32',
  },
  {
    name: 'rlhf-pipeline',
    title: 'The RLHF pipeline',
    summary:
      'Stage 1 fine-tunes on 64 demonstrations, stage 2 fits a reward model to 256 comparisons a hidden human made, stage 3 runs PPO against the reward model with the defaults (learning rate 0.001, KL penalty β = 0.05, entropy bonus 0.01). Compare the proxy reward with the gold score the human would give: on seeds 1–5 gold ends 0.82–0.87 after 200 updates, above the SFT policy’s 0.74–0.77.',
    link: '#v=2&task=preference',
  },
  {
    name: 'retry',
    title: 'Agents: a second try with feedback',
    summary:
      'The policy reverses 3 of 8 letters and gets a second try: after a wrong answer the environment writes <wrong> and where the first mistake is (@1, @2, …), reflexion-style; with feedback off it writes blanks (_ _) instead. ' +
      'Pick "Turns per episode" as the extra chart: 2 means the first attempt failed, and the second attempt scores 0.8 at most. ' +
      'Here the feedback does not help: reversing needs nothing beyond the prompt, and over updates 41–80 on seeds 1–5 the run with blanks even scores higher (0.47–0.66, against 0.16–0.46 with feedback); lesson 18 hides the prompt, and there it does.',
    link: '#v=1&task=retry&alphabetSize=8&contextLength=15&learningRate=0.002&maxNewTokens=10',
  },
  {
    name: 'sort',
    title: 'PPO learns to sort',
    summary:
      'Sorting needs the whole prompt at every step: harder than reversing. At the defaults it reaches a score of 0.9 in 27–34 updates on seeds 1–5 and stays solved: over 2,000 updates every 100-update window from update 201 on scores 0.962 or more (0.986 or more from update 801).',
    link: '#v=4&task=sort',
  },
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}
