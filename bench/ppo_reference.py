"""PyTorch reference for one PPO or GRPO update of the engine, written the textbook way, for `npm run bench`.

It does the same work as Trainer.step() with the same settings (bench/index.ts passes the same values to
both sides): the same pre-LN transformer (src/engine/model.ts), format pretraining, a rollout with one
forward per sampled token over the prefix that decides it (Gumbel-max; no key/value cache: the engine's
work on its backends other than wasm, where it samples with a cache as ppo_independent.py does), the
reverse task's dense score, then
  ppo  (algorithms/ppo.ts): a k1 KL penalty against the frozen reference in the reward, GAE, whitening,
       epochs x minibatches of clipped-surrogate + clipped-value - entropy loss;
  grpo (algorithms/grpo.ts): batch/G prompts, each answered G times on adjacent rows; the score alone as
       reward; one advantage per response (r - mean(group)) / (unbiased std(group) + 1e-4); no critic;
       epochs x minibatches of clipped surrogate + beta*k3 to the reference per token, averaged over each
       response's own tokens then over responses, - entropy;
each optimizer step with grad-norm clip and Adam, and one forward after the last step for the update's KL
against the rollout's own log-softmax (as the engine's policy/update_kl). Random numbers come from torch,
so runs are not bit-identical to the engine's; the work is the same. Defaults are the engine's (link
version 3); the model's shape, the alphabet and the format-pretraining steps can be changed.

This is the plain nn.Module + torch.optim.Adam version; bench/ppo_independent.py does the same work
faster (one flat parameter vector for the clip and Adam) and is what the bench's ratio is taken against.

  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/ppo_reference.py --warmup 2 --updates 10
  /usr/bin/python3 bench/ppo_reference.py --algorithm grpo --group 8 --learn 60   # untimed: mean score per 10 updates
"""

import argparse
import copy
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The default preset's fixed shape (src/engine/config.ts) and the vocabulary (src/engine/tokens.ts).
PAD, BOS, SEP, EOS = 0, 1, 2, 3
VOCAB = 4 + 5  # special tokens + alphabet of 5 letters
PROMPT_LENGTH, MAX_NEW_TOKENS, CONTEXT = 3, 5, 10
RESPONSE_START = PROMPT_LENGTH + 2  # <bos> prompt <sep>
D_MODEL, N_LAYERS, N_HEADS = 32, 1, 2
MAX_GRAD_NORM, ADAM_BETAS, ADAM_EPS = 1.0, (0.9, 0.999), 1e-5
CLIP, VALUE_CLIP, VALUE_COEF = 0.2, 0.2, 0.5
GAMMA, LAMBDA, TEMPERATURE = 1.0, 0.95, 1.0
SFT_STEPS = 60
GROUP_STD_EPSILON = 1e-4  # advantages.ts, as TRL's GRPOTrainer

# The settings bench/index.ts may change, with the engine's link-version-3 defaults (src/share/link.ts);
# main() overwrites them from the command line.
BATCH, EPOCHS, MINIBATCHES = 128, 4, 4
LEARNING_RATE, BETA, ENTROPY_COEF = 0.001, 0.05, 0.01
ALGORITHM, GROUP = 'ppo', 1


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D_MODEL, eps=1e-5)
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.attn_out = nn.Linear(D_MODEL, D_MODEL)
        self.ln2 = nn.LayerNorm(D_MODEL, eps=1e-5)
        self.mlp_in = nn.Linear(D_MODEL, 4 * D_MODEL)
        self.mlp_out = nn.Linear(4 * D_MODEL, D_MODEL)
        # Additive causal mask with a large finite negative, as model.ts.
        self.register_buffer('mask', torch.full((CONTEXT, CONTEXT), -1e9).triu(1))

    def attention(self, x):
        batch, time_, d = x.shape
        head_dim = d // N_HEADS
        q, k, v = self.qkv(x).view(batch, time_, 3, N_HEADS, head_dim).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + self.mask[:time_, :time_]
        return self.attn_out((scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, time_, d))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.mlp_out(F.gelu(self.mlp_in(self.ln2(x)), approximate='tanh'))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, D_MODEL)  # = model.ts's one-hot matmul
        self.position_embedding = nn.Parameter(torch.zeros(CONTEXT, D_MODEL))
        self.blocks = nn.ModuleList(Block() for _ in range(N_LAYERS))
        self.ln_final = nn.LayerNorm(D_MODEL, eps=1e-5)
        self.policy_head = nn.Linear(D_MODEL, VOCAB)
        self.value_head = nn.Linear(D_MODEL, 1)
        # GPT-2 init as initParams: std 0.02, residual projections scaled by 1/sqrt(2 layers).
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.position_embedding, std=0.02)
        for block in self.blocks:
            nn.init.normal_(block.attn_out.weight, std=0.02 / math.sqrt(2 * N_LAYERS))
            nn.init.normal_(block.mlp_out.weight, std=0.02 / math.sqrt(2 * N_LAYERS))
        nn.init.zeros_(self.value_head.weight)  # first advantages are plain returns

    def forward(self, tokens):
        x = self.token_embedding(tokens) + self.position_embedding[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        hidden = self.ln_final(x)
        return self.policy_head(hidden) / TEMPERATURE, self.value_head(hidden).squeeze(-1)


def log_probs(logits, tokens):
    """log π(token t+1 | prefix) at each position t (<pad> after the end), and the full log-softmax."""
    next_tokens = F.pad(tokens[:, 1:], (0, 1), value=PAD)
    log_softmax = logits.log_softmax(-1)
    return log_softmax.gather(-1, next_tokens.unsqueeze(-1)).squeeze(-1), log_softmax


def entropy(log_softmax):
    return -(log_softmax.exp() * log_softmax).sum(-1)


def prompt_buffer(prompts):
    tokens = torch.full((prompts.shape[0], CONTEXT), PAD, dtype=torch.long)
    tokens[:, 0] = BOS
    tokens[:, 1 : RESPONSE_START - 1] = prompts
    tokens[:, RESPONSE_START - 1] = SEP
    return tokens


def random_letters(rows):
    return torch.randint(4, VOCAB, (rows, PROMPT_LENGTH))


@torch.no_grad()
def rollout(policy, reference, prompts):
    """The sampled buffer, log π_old, log π_ref, V_old, entropy and the policy's log-softmax (for update_kl)."""
    tokens = prompt_buffer(prompts)
    done = torch.zeros(BATCH, dtype=torch.bool)
    # Gumbel-max: argmax(logits + g) samples softmax(logits); uniforms kept off 0 and 1 as rollout.ts.
    gumbel = -torch.log(-torch.log(torch.rand(MAX_NEW_TOKENS, BATCH, VOCAB) * (1 - 1e-7) + 5e-8))
    for step in range(MAX_NEW_TOKENS):
        position = RESPONSE_START + step
        # The prefix that decides this step, the whole buffer on the last step (the engine without its cache).
        logits, values = policy(tokens if step == MAX_NEW_TOKENS - 1 else tokens[:, :position])
        chosen = (logits[:, position - 1] + gumbel[step]).argmax(-1).masked_fill(done, PAD)
        tokens[:, position] = chosen
        done |= chosen == EOS
    # Causal model: the last step's pass already holds the final logits and values at every decision
    # position (only the newest token was missing), so the engine keeps it rather than run it again.
    old_logp, log_softmax = log_probs(logits, tokens)
    ref_logp, _ = log_probs(reference(tokens)[0], tokens)
    return tokens, old_logp, ref_logp, values, entropy(log_softmax), log_softmax


def reverse_score(prompt, response):
    """Dense score of tasks/task.ts scoreResponse: matching letters / max(length, answer length)."""
    expected = prompt[::-1]
    emitted_eos = EOS in response
    answer = response[: response.index(EOS)] if emitted_eos else response[:MAX_NEW_TOKENS]
    length = len(answer) if emitted_eos else MAX_NEW_TOKENS
    matches = sum(a == b for a, b in zip(answer, expected))
    return matches / max(length, len(expected), 1)


def scores_and_mask(prompts, tokens):
    """Each response's score, and a [batch, time] mask of its action positions."""
    # A response runs through its first <eos>, or MAX_NEW_TOKENS tokens (rollout.ts responseOf).
    window = tokens[:, RESPONSE_START : RESPONSE_START + MAX_NEW_TOKENS].tolist()
    responses = [row[: row.index(EOS) + 1] if EOS in row else row for row in window]
    scores = torch.tensor([reverse_score(p, r) for p, r in zip(prompts.tolist(), responses)])
    lengths = torch.tensor([len(r) for r in responses])
    # Decision position t chose token t + 1, so episode b's actions sit at RESPONSE_START - 1 + s.
    position = torch.arange(CONTEXT)
    first, end = RESPONSE_START - 1, RESPONSE_START - 1 + lengths[:, None]
    mask = ((position >= first) & (position < end)).float()
    return scores, mask, lengths


def ppo_advantages(prompts, tokens, old_logp, ref_logp, values):
    """Scores, per-token k1 KL penalty, GAE and whitening, on [batch, time] with a mask of action positions."""
    scores, mask, lengths = scores_and_mask(prompts, tokens)
    rewards = -BETA * (old_logp - ref_logp) * mask
    rewards[torch.arange(BATCH), RESPONSE_START - 2 + lengths] += scores
    values = values * mask  # V after the last action is 0
    advantage = torch.zeros_like(rewards)
    running = torch.zeros(BATCH)
    for t in reversed(range(CONTEXT)):
        next_value = values[:, t + 1] if t + 1 < CONTEXT else 0.0
        delta = rewards[:, t] + GAMMA * next_value - values[:, t]
        running = (delta + GAMMA * LAMBDA * running) * mask[:, t]
        advantage[:, t] = running
    returns = advantage + values  # value targets, before whitening
    flat = advantage[mask.bool()]  # whitened over every action token of the batch, unbiased std
    advantage = (advantage - flat.mean()) / (flat.std() + 1e-8) * mask
    return mask, advantage, returns, scores


def grpo_advantages(prompts, tokens):
    """GRPO: the score alone is the reward; (r - mean) / (unbiased std + 1e-4) over each group of G adjacent rows."""
    scores, mask, _ = scores_and_mask(prompts, tokens)
    groups = scores.view(-1, GROUP)
    normalised = (groups - groups.mean(1, keepdim=True)) / (groups.std(1, keepdim=True) + GROUP_STD_EPSILON)
    return mask, normalised.reshape(-1, 1) * mask, scores  # on every action token of the response


def make_optimizer(policy):
    # torch adds eps after bias correction, the engine before: the same work, a hair different numerically.
    return torch.optim.Adam(policy.parameters(), lr=LEARNING_RATE, betas=ADAM_BETAS, eps=ADAM_EPS)


def optimizer_step(policy, optimizer, loss):
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = nn.utils.clip_grad_norm_(policy.parameters(), MAX_GRAD_NORM)  # scale = min(1, max/(norm + 1e-6))
    optimizer.step()
    return norm


def minibatches():
    """One epoch's shuffled minibatches: exactly MINIBATCHES slices of the batch (common.ts minibatchRows)."""
    order = torch.randperm(BATCH)
    m = max(1, min(MINIBATCHES, BATCH))
    return [order[(i * BATCH) // m : ((i + 1) * BATCH) // m] for i in range(m)]


def entropy_bonus(log_softmax, m, count):
    # As the engine: a zero-weight term is not computed at all.
    return -ENTROPY_COEF * (entropy(log_softmax) * m).sum() / count if ENTROPY_COEF != 0 else 0.0


def ppo_epochs(policy, optimizer, tokens, mask, old_logp, old_values, advantage, returns):
    # Side metrics are summed as tensors and read once at the end, as DeviceAverages does.
    totals = torch.zeros(7)
    for _ in range(EPOCHS):
        for rows in minibatches():
            m, adv, old_v, ret = mask[rows], advantage[rows], old_values[rows], returns[rows]
            count = m.sum().clamp(min=1)
            logits, values = policy(tokens[rows])
            logp, log_softmax = log_probs(logits, tokens[rows])
            log_ratio = (logp - old_logp[rows]) * m
            ratio = log_ratio.exp()
            surrogate = torch.max(-adv * ratio, -adv * ratio.clamp(1 - CLIP, 1 + CLIP))
            policy_loss = (surrogate * m).sum() / count
            delta = values - old_v
            clipped_values = old_v + delta.clamp(-VALUE_CLIP, VALUE_CLIP)
            worst = torch.max((values - ret) ** 2, (clipped_values - ret) ** 2)
            value_loss = 0.5 * (worst * m).sum() / count
            loss = policy_loss + VALUE_COEF * value_loss + entropy_bonus(log_softmax, m, count)
            norm = optimizer_step(policy, optimizer, loss)
            with torch.no_grad():
                clipfrac = (((ratio - 1).abs() > CLIP).float() * m).sum() / count
                approx_kl = (((ratio - 1) - log_ratio) * m).sum() / count
                value_clipfrac = ((delta.abs() > VALUE_CLIP).float() * m).sum() / count
                totals += torch.stack([loss, policy_loss, value_loss, norm, clipfrac, approx_kl, value_clipfrac])
    return (totals / (EPOCHS * MINIBATCHES)).tolist()


def grpo_epochs(policy, optimizer, tokens, mask, old_logp, ref_logp, advantage):
    """GRPO's loss (grpo.ts, lossAgg 'response'): per token max(-A*ratio, -A*clip(ratio)) + beta*k3, averaged
    over each response's own action tokens, then over the minibatch's responses; minus c_e * mean entropy."""
    totals = torch.zeros(5)
    for _ in range(EPOCHS):
        for rows in minibatches():
            m, adv = mask[rows], advantage[rows]
            count = m.sum().clamp(min=1)
            weights = 1 / (len(rows) * m.sum(1, keepdim=True).clamp(min=1))  # 1 / (responses * |o_i|)
            logits, _ = policy(tokens[rows])  # the value head is computed in the same pass but not trained
            logp, log_softmax = log_probs(logits, tokens[rows])
            log_ratio = (logp - old_logp[rows]) * m
            ratio = log_ratio.exp()
            surrogate = torch.max(-adv * ratio, -adv * ratio.clamp(1 - CLIP, 1 + CLIP))
            policy_loss = (surrogate * m * weights).sum()
            loss = policy_loss + entropy_bonus(log_softmax, m, count)
            if BETA > 0:  # k3 to the reference on the current policy, in the loss; none in the reward
                ref_log_ratio = (ref_logp[rows] - logp) * m
                k3 = ref_log_ratio.exp() - ref_log_ratio - 1
                loss = loss + BETA * (k3 * m * weights).sum()
            norm = optimizer_step(policy, optimizer, loss)
            with torch.no_grad():
                clipfrac = (((ratio - 1).abs() > CLIP).float() * m).sum() / count
                approx_kl = (((ratio - 1) - log_ratio) * m).sum() / count
                totals += torch.stack([loss, policy_loss, norm, clipfrac, approx_kl])
    return (totals / (EPOCHS * MINIBATCHES)).tolist()


@torch.no_grad()
def update_kl(policy, tokens, mask, old_log_softmax):
    """policy/update_kl (measureUpdateKl): exact KL(old || new) over the vocabulary per action token, from the
    rollout's log-softmax (the engine keeps it rather than run the policy on the buffer a second time)."""
    new_log_softmax = log_probs(policy(tokens)[0], tokens)[1]
    per_token = (old_log_softmax.exp() * (old_log_softmax - new_log_softmax)).sum(-1)
    return ((per_token * mask).sum() / mask.sum().clamp(min=1)).item()


def training_prompts():
    """BATCH / GROUP prompts, each repeated GROUP times on adjacent rows (trainer.ts step)."""
    return random_letters(BATCH // GROUP).repeat_interleave(GROUP, dim=0)


def update(policy, reference, optimizer):
    """One timed update; returns (rollout ms, optimize ms, mean score)."""
    started = time.perf_counter()
    prompts = training_prompts()
    tokens, old_logp, ref_logp, values, _, old_log_softmax = rollout(policy, reference, prompts)
    rolled_out = time.perf_counter()
    if ALGORITHM == 'grpo':
        mask, advantage, scores = grpo_advantages(prompts, tokens)
        grpo_epochs(policy, optimizer, tokens, mask, old_logp, ref_logp, advantage)
    else:
        mask, advantage, returns, scores = ppo_advantages(prompts, tokens, old_logp, ref_logp, values)
        ppo_epochs(policy, optimizer, tokens, mask, old_logp, values, advantage, returns)
    update_kl(policy, tokens, mask, old_log_softmax)
    finished = time.perf_counter()
    return (rolled_out - started) * 1000, (finished - rolled_out) * 1000, scores.mean().item()


def format_pretrain(policy, steps):
    """Untimed, as the engine's sftStep: teach the answer's shape (3 random letters, <eos>), not the answer."""
    optimizer = make_optimizer(policy)
    for _ in range(steps):
        tokens = prompt_buffer(random_letters(BATCH))
        tokens[:, RESPONSE_START : RESPONSE_START + PROMPT_LENGTH] = random_letters(BATCH)
        tokens[:, RESPONSE_START + PROMPT_LENGTH] = EOS
        mask = torch.zeros(BATCH, CONTEXT)
        mask[:, RESPONSE_START - 1 : RESPONSE_START + PROMPT_LENGTH] = 1
        logp, _ = log_probs(policy(tokens)[0], tokens)
        optimizer_step(policy, optimizer, -(logp * mask).sum() / mask.sum())


def settings():
    """Every setting this script uses, under the engine's config names, so bench/pytorch.ts can check that
    both sides ran the same work (a changed engine default shows up as a mismatch, not a wrong ratio)."""
    return {
        'task': 'reverse',
        'scoring': 'dense',
        'alphabetSize': VOCAB - 4,
        'promptLength': PROMPT_LENGTH,
        'maxNewTokens': MAX_NEW_TOKENS,
        'contextLength': CONTEXT,
        'dModel': D_MODEL,
        'nLayers': N_LAYERS,
        'nHeads': N_HEADS,
        'algorithm': ALGORITHM,
        'groupSize': GROUP,
        'batchSize': BATCH,
        'learningRate': LEARNING_RATE,
        'beta': BETA,
        'entropyCoef': ENTROPY_COEF,
        'epochs': EPOCHS,
        'minibatches': MINIBATCHES,
        'maxGradNorm': MAX_GRAD_NORM,
        'clipEpsilon': CLIP,
        'clipEpsilonHigh': 0,
        'valueClip': VALUE_CLIP,
        'valueCoef': VALUE_COEF,
        'gamma': GAMMA,
        'lambda': LAMBDA,
        'temperature': TEMPERATURE,
        'sftSteps': SFT_STEPS,
        'adamBeta2': ADAM_BETAS[1],
        'adamEpsilon': ADAM_EPS,
        'klEstimator': 'k1',
        'klIn': 'auto',
        'whitenAdvantages': True,
        'lossAgg': 'response',
        'stdNorm': True,
        'ratioLevel': 'token',
        'rewardNorm': False,
        'adaptiveLr': False,
        'adaptiveKl': False,
        'targetKl': 0,
    }


def median(xs):
    return sorted(xs)[len(xs) // 2]  # the same (upper) median as bench/node.ts


def main():
    global BATCH, EPOCHS, MINIBATCHES, LEARNING_RATE, BETA, ENTROPY_COEF, ALGORITHM, GROUP
    global D_MODEL, N_LAYERS, N_HEADS, VOCAB, SFT_STEPS, ADAM_BETAS, ADAM_EPS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--updates', type=int, default=10)
    parser.add_argument('--learn', type=int, default=0, help='instead: N untimed updates, mean score per 10')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--algorithm', choices=['ppo', 'grpo'], default=ALGORITHM)
    parser.add_argument('--group', type=int, default=None, help='responses per prompt (default: 1, grpo 8)')
    parser.add_argument('--batch', type=int, default=BATCH)
    parser.add_argument('--lr', type=float, default=LEARNING_RATE)
    parser.add_argument('--beta', type=float, default=BETA)
    parser.add_argument('--entropy-coef', type=float, default=ENTROPY_COEF)
    parser.add_argument('--epochs', type=int, default=EPOCHS)
    parser.add_argument('--minibatches', type=int, default=MINIBATCHES)
    parser.add_argument('--d-model', type=int, default=D_MODEL)
    parser.add_argument('--layers', type=int, default=N_LAYERS)
    parser.add_argument('--heads', type=int, default=N_HEADS)
    parser.add_argument('--alphabet', type=int, default=VOCAB - 4)
    parser.add_argument('--sft-steps', type=int, default=SFT_STEPS)
    parser.add_argument('--adam-beta2', type=float, default=ADAM_BETAS[1])
    parser.add_argument('--adam-epsilon', type=float, default=ADAM_EPS)
    args = parser.parse_args()
    group = args.group if args.group is not None else (8 if args.algorithm == 'grpo' else 1)
    if args.updates < 1 or args.warmup < 0:
        parser.error('--updates must be at least 1 and --warmup at least 0')
    if group < 1 or args.batch < 1 or args.batch % group != 0:
        parser.error('--batch must be a positive multiple of --group')
    if args.algorithm == 'grpo' and group < 2:
        parser.error('grpo compares the responses to a prompt, so it needs --group 2 or more')
    if args.epochs < 1 or args.minibatches < 1:
        parser.error('--epochs and --minibatches must be at least 1')
    if args.d_model < 1 or args.layers < 1 or args.heads < 1 or args.d_model % args.heads != 0:
        parser.error('--d-model must be a positive multiple of --heads')
    if args.alphabet < 2 or args.sft_steps < 0:
        parser.error('--alphabet must be at least 2 and --sft-steps at least 0')
    D_MODEL, N_LAYERS, N_HEADS = args.d_model, args.layers, args.heads
    VOCAB, SFT_STEPS = 4 + args.alphabet, args.sft_steps
    ADAM_BETAS, ADAM_EPS = (ADAM_BETAS[0], args.adam_beta2), args.adam_epsilon
    BATCH, EPOCHS, MINIBATCHES = args.batch, args.epochs, args.minibatches
    LEARNING_RATE, BETA, ENTROPY_COEF = args.lr, args.beta, args.entropy_coef
    ALGORITHM, GROUP = args.algorithm, group
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    policy = Transformer()
    format_pretrain(policy, SFT_STEPS)
    reference = copy.deepcopy(policy).requires_grad_(False)  # frozen after format pretraining
    optimizer = make_optimizer(policy)  # a fresh optimizer for RL, as Trainer.pretrain

    if args.learn > 0:
        scores = []
        for n in range(1, args.learn + 1):
            scores.append(update(policy, reference, optimizer)[2])
            if n % 10 == 0:
                print(f'update {n}: mean score {sum(scores[-10:]) / len(scores[-10:]):.3f}', flush=True)
        return

    for _ in range(args.warmup):
        update(policy, reference, optimizer)
    rollout_ms, optimize_ms, update_ms = [], [], []
    for _ in range(args.updates):
        r, o, _ = update(policy, reference, optimizer)
        rollout_ms.append(r)
        optimize_ms.append(o)
        update_ms.append(r + o)
    result = {
        'torch': torch.__version__,
        'algorithm': ALGORITHM,
        'settings': settings(),
        'updateMs': median(update_ms),
        'rolloutMs': median(rollout_ms),
        'optimizeMs': median(optimize_ms),
        'updates': args.updates,
    }
    print(json.dumps(result))


if __name__ == '__main__':
    main()
