// Text for the update explainer: numbers as students read them, and the formulas with the numbers of
// one token filled in. Pure functions of an explanation, so the tests can check what is shown.
import type { ExplainedEpisode, UpdateExplanation } from '../engine/explanation';

/** A number as text: 3 decimals, small ones in exponent form, a true minus sign, '—' when not defined. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '—';
  const text = x !== 0 && Math.abs(x) < 10 ** -digits ? x.toExponential(1) : x.toFixed(digits);
  return text.replace(/^-/, '−');
}

/** A number after an operator: negative ones in parentheses, so "a − (−0.2)" never reads "a − −0.2". */
const op = (x: number) => (x < 0 ? `(${fmt(x)})` : fmt(x));

/** Σ_l c^l·x_l written out with its numbers, e.g. "0.100 + 0.941 × 0.020 − 0.885 × 0.500 = …". */
export function discountedSum(xs: readonly number[], c: number): string {
  const parts = xs.map((x, l) => (l === 0 ? fmt(x) : `${x < 0 ? '−' : '+'} ${fmt(c ** l)} × ${op(Math.abs(x))}`));
  const total = xs.reduce((a, x, l) => a + x * c ** l, 0);
  return `${parts.join(' ')} = ${fmt(total)}`;
}

/** The episodes answering the same prompt as `episode` (groups of G on adjacent rows). */
export function groupOf(x: UpdateExplanation, episode: ExplainedEpisode): ExplainedEpisode[] {
  const g = x.config.groupSize;
  const group = Math.floor(episode.row / g);
  return x.episodes.filter((e) => Math.floor(e.row / g) === group);
}

/** How token `k` of `episode` got its advantage, as lines of text with the numbers filled in. */
export function advantageDerivation(x: UpdateExplanation, episode: ExplainedEpisode, k: number): string[] {
  const t = episode.tokens[k];
  const ahead = episode.tokens.slice(k);
  const { gamma, lambda } = x.config;
  switch (x.algorithm) {
    case 'actor-critic':
    case 'ppo':
    case 'trpo':
      return [
        `δ = r + γ·V(next) − V = ${fmt(t.reward)} + ${op(gamma)} × ${op(episode.tokens[k + 1]?.value ?? 0)} − ${op(t.value)} = ${fmt(t.tdError)}`,
        `A = Σ (γλ)^l · δ_{t+l}, with γλ = ${fmt(gamma * lambda)}: ${discountedSum(
          ahead.map((a) => a.tdError),
          gamma * lambda,
        )}`,
        `R = A + V = ${fmt(t.advantageRaw)} + ${op(t.value)} = ${fmt(t.ret)} (the critic's target)`,
      ];
    case 'reinforce':
      return [
        `G = Σ γ^l · r_{t+l}, with γ = ${fmt(gamma)}: ${discountedSum(
          ahead.map((a) => a.reward),
          gamma,
        )}`,
        `A = G − baseline (${x.config.baseline}) = ${fmt(t.ret)} − ${op(t.ret - t.advantageRaw)} = ${fmt(t.advantageRaw)}`,
      ];
    case 'grpo':
    case 'rloo': {
      const group = groupOf(x, episode);
      const rewards = group.map((e) => e.tokens.reduce((a, tok) => a + tok.reward, 0));
      const own = episode.tokens.reduce((a, tok) => a + tok.reward, 0);
      const lines = [
        `This answer's reward: ${fmt(own)}. Its group's ${group.length}: ${rewards.map((r) => fmt(r)).join(', ')}.`,
      ];
      if (x.algorithm === 'rloo') {
        const others = (rewards.reduce((a, b) => a + b, 0) - own) / Math.max(1, group.length - 1);
        lines.push(
          `A = R − mean of the other ${group.length - 1} = ${fmt(own)} − ${op(others)} = ${fmt(t.advantageRaw)}`,
        );
      } else {
        const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
        const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, rewards.length - 1));
        lines.push(
          x.config.stdNorm
            ? `A = (r − mean) / (std + 1e-4) = (${fmt(own)} − ${op(mean)}) / ${op(std + 1e-4)} = ${fmt(t.advantageRaw)}`
            : `A = r − mean = ${fmt(own)} − ${op(mean)} = ${fmt(t.advantageRaw)} (std division off: Dr. GRPO)`,
        );
      }
      return lines;
    }
  }
}

/** What whitening did to the batch's advantages, in one sentence. */
export function whiteningLine(x: UpdateExplanation): string {
  const raw = x.episodes.flatMap((e) => e.tokens.map((t) => t.advantageRaw));
  if (x.algorithm === 'grpo') return 'GRPO normalises within each group (above) instead of whitening over the batch.';
  if (!x.config.whitenAdvantages)
    return 'Whitening is off in this run: the loss uses the advantages above as they are.';
  const n = raw.length;
  const mean = raw.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(raw.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, n - 1));
  if (x.algorithm === 'reinforce')
    return `Whitening divides every advantage by the batch's standard deviation ${fmt(std)} (over ${n} tokens), without centring: the baseline does that.`;
  if (x.algorithm === 'rloo')
    return 'Whitening then gives the batch’s answers (one advantage each) mean 0 and standard deviation 1.';
  return `Whitening: A ← (A − ${op(mean)}) / ${op(std)}, the mean and standard deviation over the batch's ${n} action tokens.`;
}

/** PPO's and GRPO's clipped objective for one token at one step, with the numbers. */
export function clipDerivation(x: UpdateExplanation, advantage: number, ratio: number): string {
  const low = 1 - x.config.clipEpsilon;
  const high =
    1 + (x.algorithm === 'grpo' && x.config.clipEpsilonHigh > 0 ? x.config.clipEpsilonHigh : x.config.clipEpsilon);
  const clippedRatio = Math.min(high, Math.max(low, ratio));
  const unclipped = -advantage * ratio;
  const clipped = -advantage * clippedRatio;
  const which =
    clipped > unclipped
      ? 'the clipped term is larger, so it counts: its gradient is zero and this token pushes no further'
      : 'the unclipped term counts: the gradient flows';
  return (
    `max(−A·r, −A·clip(r, ${fmt(low, 2)}, ${fmt(high, 2)})) = max(${fmt(unclipped)}, ${fmt(clipped)}) = ` +
    `${fmt(Math.max(unclipped, clipped))}: ${which}.`
  );
}

/** KL(p ‖ q) in nats over a vocabulary. */
export function klBetween(p: readonly number[], q: readonly number[]): number {
  return p.reduce((a, pi, i) => (pi > 0 ? a + pi * Math.log(pi / Math.max(q[i], 1e-12)) : a), 0);
}
