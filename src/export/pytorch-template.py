#!/usr/bin/env python3
# @@HEADER@@
"""Token RL Playground, exported: one experiment as a single PyTorch file, in the style of CleanRL.

What runs, in order (the playground's docs/reference.md has every formula):
  1. The task and its vocabulary: <pad> <bos> <sep> <eos>, the letters, then any token only the
     environment writes. Each task lists the tokens the policy may write (its action vocabulary).
  2. The model: a tiny causal pre-LayerNorm transformer, a policy head and a value head (starting at 0).
     Logits are divided by the temperature, then every token outside the action vocabulary gets -1e9.
  3. Format pretraining (SFT): cross-entropy on answers of the right layout with random content. The
     policy is then copied and frozen as the reference; RL starts with a fresh optimizer.
  4. Each update: sample a batch of episodes, score them, per-token rewards with the KL penalty to the
     reference, advantages, then the algorithm's optimizer steps.
  5. One JSON line of metrics per update on standard output, with the playground's metric names
     (null where this algorithm has no such number); progress goes to standard error.
"""

import argparse
import copy
import dataclasses
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters

# @@SETTINGS@@


# ---------------------------------------------------------------------------------------------------------
# Command line: every field of Args is a flag (--learningRate 0.003, --whitenAdvantages false, ...).


def str_to_bool(text):
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Token RL Playground experiment, exported as PyTorch (" + SOURCE_LINK + ").",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for f in dataclasses.fields(Args):
        flag = "--" + f.metadata.get("key", f.name)  # `lambda` is a Python keyword: its field is lambda_
        help_text = f.metadata["help"].replace("%", "%%")
        if isinstance(f.default, bool):
            parser.add_argument(flag, dest=f.name, type=str_to_bool, default=f.default, metavar="{true,false}", help=help_text)
        else:
            choices = f.metadata.get("choices")
            parser.add_argument(flag, dest=f.name, type=type(f.default), default=f.default, choices=choices, help=help_text)
    args = Args(**vars(parser.parse_args(argv)))
    problems = check(args)
    if problems:
        parser.error("\n  " + "\n  ".join(problems))
    return args


def check(args):
    """The playground's rules between settings; the playground repairs a bad value, this script refuses it."""
    problems = []
    for f in dataclasses.fields(Args):
        value = getattr(args, f.name)
        low, high = f.metadata.get("min"), f.metadata.get("max")
        if low is not None and not low <= value <= high:
            problems.append(f"--{f.metadata.get('key', f.name)} {value} is outside {low}...{high}.")
    if args.task not in SUPPORTED_TASKS:
        problems.append(f"--task {args.task} is not exported to PyTorch; this script runs {', '.join(SUPPORTED_TASKS)}.")
        return problems
    if args.dModel % args.nHeads:
        problems.append(f"--nHeads {args.nHeads} must divide --dModel {args.dModel}.")
    if args.task == "target" and any(ch not in LETTERS[: args.alphabetSize] for ch in args.targetWord):
        problems.append(f"--targetWord {args.targetWord} uses letters outside the alphabet of {args.alphabetSize}.")
    min_answer = {
        "target": len(args.targetWord),
        "reverse": args.promptLength,
        "sort": args.promptLength,
        "guess": 1,
        "chain": args.thinkTokens + 3 if args.thinkTokens > 0 else 1,
    }[args.task]
    if args.maxNewTokens < min_answer + 1:
        problems.append(f"--maxNewTokens must be at least {min_answer + 1} (the answer and <eos>).")
    prompt_tokens = {"reverse": args.promptLength, "sort": args.promptLength, "chain": args.alphabetSize}.get(args.task, 0)
    if args.contextLength < 2 + prompt_tokens + args.maxNewTokens:
        problems.append(f"--contextLength must be at least {2 + prompt_tokens + args.maxNewTokens} (<bos>, prompt, <sep>, response).")
    if args.algorithm in ("grpo", "rloo") and args.groupSize < 2:
        problems.append(f"--algorithm {args.algorithm} compares the responses to a prompt: --groupSize must be 2 or more.")
    if args.batchSize % args.groupSize:
        problems.append(f"--batchSize {args.batchSize} must be a multiple of --groupSize {args.groupSize}.")
    if args.minibatches > args.batchSize:
        problems.append(f"--minibatches {args.minibatches} exceeds --batchSize {args.batchSize}.")
    return problems


# ---------------------------------------------------------------------------------------------------------
# Tokens and tasks. A task draws prompts, knows the expected answer, scores a response (its action tokens,
# <eos> included when written; in agentic tasks also the environment's tokens) and writes format
# demonstrations: the right layout, random content.

PAD, BOS, SEP, EOS = 0, 1, 2, 3
SPECIAL_TOKENS = ["<pad>", "<bos>", "<sep>", "<eos>"]
LETTERS = "abcdefghijklmnop"


def score_response(response, expected, scoring, max_new_tokens):
    """Dense: letters in the right place / max(L, n); sparse: 1 only for the exact answer followed by <eos>.
    y is the response up to its first <eos>; L its length, or max_new_tokens when there is no <eos>."""
    emitted_eos = EOS in response
    y = response[: response.index(EOS)] if emitted_eos else response[:max_new_tokens]
    length = len(y) if emitted_eos else max_new_tokens
    n = len(expected)
    if scoring == "sparse":
        return 1.0 if emitted_eos and y == list(expected) else 0.0
    matches = sum(1 for i in range(min(len(y), n)) if y[i] == expected[i])
    return matches / max(length, n, 1)


class Task:
    extras = []  # tokens only the environment writes

    def __init__(self, args):
        self.args = args
        self.letters = LETTERS[: args.alphabetSize]
        self.vocab = SPECIAL_TOKENS + list(self.letters) + list(self.extras)
        self.letter_ids = [self.vocab.index(ch) for ch in self.letters]
        self.actions = [EOS] + self.letter_ids  # the tokens the policy may write
        # A response is a fixed layout of turns: (actions, observations). One turn without observations
        # for the single-turn tasks.
        self.turns = [(args.maxNewTokens, 0)]

    def id(self, token):
        return self.vocab.index(token)

    def random_letters(self, n):
        return [random.choice(self.letter_ids) for _ in range(n)]

    def visible_prompt(self, prompt):
        """What the policy sees between <bos> and <sep> (guess hides its prompt)."""
        return prompt

    def observe(self, prompt, response, turn):
        raise NotImplementedError

    def turns_used(self, prompt, response):
        return 1

    def decode(self, ids):
        return " ".join(self.vocab[i] for i in ids)


class Target(Task):
    """No prompt; the score rewards one fixed word."""

    def __init__(self, args):
        super().__init__(args)
        self.word = [self.id(ch) for ch in args.targetWord]

    def prompt(self):
        return []

    def expected(self, prompt):
        return self.word

    def score(self, prompt, response):
        return score_response(response, self.word, self.args.scoring, self.args.maxNewTokens)

    def format_demo(self, prompt):
        return self.random_letters(len(self.word)) + [EOS]


class Reverse(Task):
    """The prompt is random letters; the answer is the prompt backwards."""

    def prompt(self):
        return self.random_letters(self.args.promptLength)

    def expected(self, prompt):
        return prompt[::-1]

    def score(self, prompt, response):
        return score_response(response, self.expected(prompt), self.args.scoring, self.args.maxNewTokens)

    def format_demo(self, prompt):
        return self.random_letters(len(prompt)) + [EOS]


class Sort(Reverse):
    """The prompt is random letters; the answer is the same letters in alphabetical order."""

    def expected(self, prompt):
        return sorted(prompt)


class Guess(Task):
    """An agent: the environment hides a letter; each turn the policy guesses one and the environment
    writes `<` (lower), `>` (higher) or `=` (found: the episode ends). Score 1 - (turns - 1)/K when found on
    turn `turns` of K = maxNewTokens // 2, else 0. The environment's tokens are observations: context the
    policy reads but did not choose (no log-prob, KL, reward or policy loss)."""

    extras = ["<", ">", "=", "?"]

    def __init__(self, args):
        super().__init__(args)
        self.turn_count = max(1, args.maxNewTokens // 2)
        self.turns = [(1, 1)] * self.turn_count
        self.lower, self.higher, self.found, self.invalid = (self.id(t) for t in self.extras)

    def prompt(self):
        return [random.choice(self.letter_ids)]  # the hidden letter

    def visible_prompt(self, prompt):
        return []

    def expected(self, prompt):
        return [prompt[0], self.found]

    def verdict(self, secret, guess):
        if guess not in self.letter_ids:
            return self.invalid
        return self.lower if secret < guess else self.higher if secret > guess else self.found

    def observe(self, prompt, response, turn):
        answer = self.verdict(prompt[0], response[-1])
        return [answer], answer == self.found

    def score(self, prompt, response):
        guesses = response[0::2]
        if prompt[0] not in guesses:
            return 0.0
        return 1 - guesses.index(prompt[0]) / self.turn_count

    def format_demo(self, prompt):
        demo = []
        for _ in range(self.turn_count):
            guess = random.choice(self.letter_ids)
            answer = self.verdict(prompt[0], guess)
            demo += [guess, answer]
            if answer == self.found:
                break
        return demo

    def turns_used(self, prompt, response):
        return len(response[0::2])


class Chain(Task):
    """The prompt is a table of letters read as arrows (position a points to the first letter, b to the
    second, ...). From a, `hops` arrows lead to the answer. With thinkTokens > 0 the response is <think>, at
    most thinkTokens free tokens, </think>, the answer, <eos>; only the answer is scored."""

    extras = ["<think>", "</think>"]

    def __init__(self, args):
        super().__init__(args)
        self.open, self.close = self.id("<think>"), self.id("</think>")
        self.thinking = args.thinkTokens > 0
        if self.thinking:
            self.actions = self.actions + [self.open, self.close]

    def prompt(self):
        return self.random_letters(len(self.letters))

    def visited(self, table):
        first = self.letter_ids[0]
        letters = [first]
        for k in range(self.args.hops):
            letters.append(table[letters[k] - first])
        return letters

    def expected(self, prompt):
        return [self.visited(prompt)[self.args.hops]]

    def path(self, prompt):
        """The letters visited between a and the answer: what a useful scratchpad writes."""
        return self.visited(prompt)[1 : self.args.hops]

    def parse(self, response):
        """(scratchpad, answer, answer slots), or None for a broken layout."""
        if not self.thinking:
            return [], list(response), self.args.maxNewTokens
        if not response or response[0] != self.open or self.close not in response:
            return None
        close = response.index(self.close)
        scratch = response[1:close]
        if len(scratch) > self.args.thinkTokens:
            return None
        return scratch, response[close + 1 :], self.args.maxNewTokens - close - 1

    def score(self, prompt, response):
        parsed = self.parse(response)
        if parsed is None:
            return 0.0
        _, answer, slots = parsed
        return score_response(answer, self.expected(prompt), self.args.scoring, slots)

    def format_demo(self, prompt):
        if self.args.solvedDemos > 0 and random.random() < self.args.solvedDemos:
            scratch = self.path(prompt)[: self.args.thinkTokens]
            answer = self.expected(prompt) + [EOS]
            return [self.open] + scratch + [self.close] + answer if self.thinking else answer
        answer = self.random_letters(1) + [EOS]
        if not self.thinking:
            return answer
        scratch = self.random_letters(random.randrange(self.args.thinkTokens + 1))
        return [self.open] + scratch + [self.close] + answer

    def think_tokens(self, response):
        parsed = self.parse(response)
        return len(parsed[0]) if parsed is not None else 0

    def tracks(self, prompt, response):
        """The scratchpad writes the path's letters in order."""
        parsed = self.parse(response)
        if parsed is None or not self.thinking:
            return False
        path, found = self.path(prompt), 0
        for token in parsed[0]:
            if found < len(path) and token == path[found]:
                found += 1
        return found == len(path)


TASKS = {"target": Target, "reverse": Reverse, "sort": Sort, "guess": Guess, "chain": Chain}


# ---------------------------------------------------------------------------------------------------------
# The model: token embedding (a lookup: the same as the playground's one-hot matmul) and learned positions,
# nLayers pre-LayerNorm blocks of causal multi-head attention and a 4x tanh-GELU MLP, a final LayerNorm,
# a policy head and a value head. GPT-2 initialisation: std 0.02, residual projections 0.02 / sqrt(2 L).


class Block(nn.Module):
    def __init__(self, d, heads, residual_std):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.attn_out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.mlp_in = nn.Linear(d, 4 * d)
        self.mlp_out = nn.Linear(4 * d, d)
        for layer, std in ((self.qkv, 0.02), (self.attn_out, residual_std), (self.mlp_in, 0.02), (self.mlp_out, residual_std)):
            nn.init.normal_(layer.weight, std=std)
            nn.init.zeros_(layer.bias)

    def forward(self, x, causal_mask):
        B, T, d = x.shape
        H, hd = self.heads, d // self.heads
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)  # each [B, H, T, hd]
        scores = q @ k.transpose(-2, -1) / math.sqrt(hd) + causal_mask[:T, :T]
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.attn_out(y)
        return x + self.mlp_out(F.gelu(self.mlp_in(self.ln2(x)), approximate="tanh"))


class Transformer(nn.Module):
    def __init__(self, args, vocab_size, actions):
        super().__init__()
        d, T = args.dModel, args.contextLength
        self.temperature = args.temperature
        self.token_embedding = nn.Embedding(vocab_size, d)
        self.position_embedding = nn.Parameter(torch.zeros(T, d))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding, std=0.02)
        residual_std = 0.02 / math.sqrt(2 * args.nLayers)
        self.blocks = nn.ModuleList(Block(d, args.nHeads, residual_std) for _ in range(args.nLayers))
        self.ln_final = nn.LayerNorm(d, eps=1e-5)
        self.policy_head = nn.Linear(d, vocab_size)
        self.value_head = nn.Linear(d, 1)
        nn.init.normal_(self.policy_head.weight, std=0.02)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.zeros_(self.value_head.weight)  # values start at exactly 0: the first advantages are returns
        nn.init.zeros_(self.value_head.bias)
        # A large finite negative, not -inf (0 * log 0 would be NaN in the entropy).
        self.register_buffer("causal_mask", torch.full((T, T), -1e9).triu(1))
        logit_mask = torch.full((vocab_size,), -1e9)
        logit_mask[actions] = 0.0
        self.register_buffer("logit_mask", logit_mask)

    def forward(self, tokens):
        """tokens [B, T] -> logits [B, T, V] for the token after each position (tempered, then masked to the
        action vocabulary) and values [B, T]."""
        x = self.token_embedding(tokens) + self.position_embedding[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x, self.causal_mask)
        h = self.ln_final(x)
        logits = self.policy_head(h) / self.temperature + self.logit_mask
        return logits, self.value_head(h).squeeze(-1)


def evaluate(model, tokens):
    """log pi(next token) at every position [B, T], values [B, T] and the full log-softmax [B, T, V]."""
    logits, values = model(tokens)
    log_softmax = logits.log_softmax(-1)
    next_tokens = F.pad(tokens[:, 1:], (0, 1), value=PAD)  # position t chose token t + 1
    logp = log_softmax.gather(-1, next_tokens.unsqueeze(-1)).squeeze(-1)
    return logp, values, log_softmax


def entropy_of(log_softmax):
    return -(log_softmax.exp() * log_softmax).sum(-1)


class Adam:
    """The playground's optimizer: the global gradient norm clipped to max_grad_norm (0: off), then Adam
    with beta1 0.9, the run's beta2 and epsilon beside sqrt(v), the bias correction folded into the step:
    theta -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps). Returns the norm before clipping."""

    def __init__(self, params, beta2, eps, beta1=0.9):
        self.params = list(params)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr, max_grad_norm):
        self.t += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        norm = torch.sqrt(sum((g * g).sum() for g in grads))
        scale = torch.clamp(max_grad_norm / (norm + 1e-6), max=1.0) if max_grad_norm > 0 else 1.0
        step_size = lr * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g * scale
            m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            p.sub_(step_size * m / (v.sqrt() + self.eps))
        return float(norm)

    def state(self):
        return self.t, [m.clone() for m in self.m], [v.clone() for v in self.v]

    def load(self, state):
        self.t, m, v = state
        for mine, saved in zip(self.m + self.v, m + v):
            mine.copy_(saved)


# ---------------------------------------------------------------------------------------------------------
# Format pretraining (SFT): demonstrations with the answer's layout and random content.


def prompt_buffer(prompts, T):
    """Rows <bos> prompt <sep> <pad>...; returns the buffer and where responses start."""
    start = len(prompts[0]) + 2
    tokens = torch.full((len(prompts), T), PAD, dtype=torch.long)
    tokens[:, 0] = BOS
    if start > 2:
        tokens[:, 1 : start - 1] = torch.tensor(prompts)
    tokens[:, start - 1] = SEP
    return tokens, start


def observation_slots(turns):
    slots, index = set(), 0
    for actions, observations in turns:
        index += actions
        slots.update(range(index, index + observations))
        index += observations
    return slots


def sft_step(args, task, policy, optimizer):
    prompts = [task.prompt() for _ in range(args.batchSize)]
    tokens, start = prompt_buffer([task.visible_prompt(p) for p in prompts], args.contextLength)
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    observations = observation_slots(task.turns)  # the environment's tokens are context, never targets
    for b, prompt in enumerate(prompts):
        for s, token in enumerate(task.format_demo(prompt)):
            tokens[b, start + s] = token
            mask[b, start - 1 + s] = s not in observations  # the position that chooses token s
    optimizer.zero_grad()
    logp, _, _ = evaluate(policy, tokens)
    loss = -masked_mean(logp, mask)
    loss.backward()
    optimizer.step(args.learningRate, args.maxGradNorm)
    return float(loss)


def masked_mean(x, mask):
    """Mean of x over the action positions (mask [rows, T], bool)."""
    return torch.where(mask, x, torch.zeros_like(x)).sum() / max(int(mask.sum()), 1)


# ---------------------------------------------------------------------------------------------------------
# Rollout: the policy writes each response one token at a time into a fixed [B, T] buffer, sampling from
# softmax(logits / temperature) over its action vocabulary; in agentic tasks the environment writes its
# observation tokens after each turn. Then log pi_old, V_old and the entropy at every decision position,
# and log pi_ref under the frozen reference.


@torch.no_grad()
def rollout(args, task, policy, reference, prompts):
    B = len(prompts)
    tokens, start = prompt_buffer([task.visible_prompt(p) for p in prompts], args.contextLength)
    done = torch.zeros(B, dtype=torch.bool)
    ended_at_turn = [-1] * B  # the turn at which the environment ended each episode
    position = start
    for turn, (actions, observations) in enumerate(task.turns):
        for _ in range(actions):
            logits, _ = policy(tokens)
            sampled = torch.distributions.Categorical(logits=logits[:, position - 1]).sample()
            chosen = torch.where(done, torch.full_like(sampled, PAD), sampled)  # finished rows get <pad>
            tokens[:, position] = chosen
            done |= chosen == EOS
            position += 1
        if observations == 0:
            continue
        for b in range(B):
            if done[b]:
                continue
            written, finished = task.observe(prompts[b], tokens[b, start:position].tolist(), turn)
            tokens[b, position : position + observations] = torch.tensor(written[:observations])
            if finished:
                done[b] = True
                ended_at_turn[b] = turn
        position += observations
    logp, values, log_softmax = evaluate(policy, tokens)
    ref_logp, _, _ = evaluate(reference, tokens)
    responses, positions = walk_layout(task, tokens, start, ended_at_turn)
    return {
        "prompts": prompts,
        "tokens": tokens,
        "responses": responses,
        "positions": positions,
        "old_logp": logp,
        "ref_logp": ref_logp,
        "values": values,
        "entropy": entropy_of(log_softmax),
        "log_softmax": log_softmax,
    }


def walk_layout(task, tokens, start, ended_at_turn):
    """Each row's response (actions and observations, through <eos> or the end of its episode) and the
    decision positions of its action tokens (position t chose token t + 1)."""
    responses, positions = [], []
    for b, row in enumerate(tokens.tolist()):
        response, chosen, position, over = [], [], start, False
        for turn, (actions, observations) in enumerate(task.turns):
            for _ in range(actions):
                response.append(row[position])
                chosen.append(position - 1)
                position += 1
                if row[position - 1] == EOS:
                    over = True
                    break
            if over:
                break
            response += row[position : position + observations]
            position += observations
            if ended_at_turn[b] == turn:
                break
        responses.append(response)
        positions.append(chosen)
    return responses, positions


# ---------------------------------------------------------------------------------------------------------
# Episodes: scores, per-token KL to the reference and rewards, then each algorithm's advantages.


@dataclass
class Episode:
    row: int
    prompt: list
    response: list
    score: float
    outcome: float  # the score as the rewards see it (running-normalised with rewardNorm)
    positions: list  # decision positions of the action tokens
    old_logp: list
    ref_logp: list
    values: list
    entropy: list
    kl: list  # per action token, with the run's estimator
    kl_k1: float  # sums over the response, for the metrics
    kl_k3: float
    rewards: list
    advantages: list = field(default_factory=list)
    returns: list = field(default_factory=list)


def kl_k1(old, ref):
    return old - ref


def kl_k3(old, ref):
    """e^(ref - old) - (ref - old) - 1: never negative (Schulman 2020)."""
    return math.exp(ref - old) - (ref - old) - 1


def build_episodes(args, task, batch, reward_beta, outcomes_of):
    """r_t = -beta * kl_t, plus the (normalised) score on the episode's last action token."""
    scores = [task.score(p, r) for p, r in zip(batch["prompts"], batch["responses"])]
    outcomes = outcomes_of(scores)
    estimator = kl_k1 if args.klEstimator == "k1" else kl_k3
    planes = {name: batch[name].tolist() for name in ("old_logp", "ref_logp", "values", "entropy")}
    episodes = []
    for row, (prompt, response, positions) in enumerate(zip(batch["prompts"], batch["responses"], batch["positions"])):
        at = {name: [plane[row][t] for t in positions] for name, plane in planes.items()}
        kl = [estimator(o, r) for o, r in zip(at["old_logp"], at["ref_logp"])]
        rewards = [-reward_beta * k for k in kl]
        if rewards:
            rewards[-1] += outcomes[row]
        episodes.append(
            Episode(
                row=row,
                prompt=prompt,
                response=response,
                score=scores[row],
                outcome=outcomes[row],
                positions=positions,
                kl=kl,
                kl_k1=sum(kl_k1(o, r) for o, r in zip(at["old_logp"], at["ref_logp"])),
                kl_k3=sum(kl_k3(o, r) for o, r in zip(at["old_logp"], at["ref_logp"])),
                rewards=rewards,
                **at,
            )
        )
    return episodes


def normalise_scores(scores, state):
    """rewardNorm: (score - running mean) / (running population std + 1e-8) over every score so far,
    this batch's included (Chan et al.'s parallel form of Welford's update)."""
    n = len(scores)
    batch_mean = sum(scores) / n
    batch_m2 = sum((s - batch_mean) ** 2 for s in scores)
    count, mean = state.get("count", 0), state.get("mean", 0.0)
    total = count + n
    delta = batch_mean - mean
    state["mean"] = mean + delta * n / total
    state["m2"] = state.get("m2", 0.0) + batch_m2 + delta * delta * count * n / total
    state["count"] = total
    std = math.sqrt(state["m2"] / total)
    return [(s - state["mean"]) / (std + 1e-8) for s in scores]


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def variance(xs):
    """Unbiased (n - 1), as torch.var."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def whiten(xs):
    m, std = mean(xs), math.sqrt(variance(xs))
    return [(x - m) / (std + 1e-8) for x in xs]


def discounted_returns(rewards, gamma):
    returns, running = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def gae(rewards, values, gamma, lam):
    """delta_t = r_t + gamma V_{t+1} - V_t (V = 0 after the last action); A_t = sum_k (gamma lam)^k delta_{t+k}; R = A + V."""
    advantages, running = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(rewards) else 0.0
        running = rewards[t] + gamma * next_value - values[t] + gamma * lam * running
        advantages[t] = running
    return advantages, [a + v for a, v in zip(advantages, values)]


def groups(episodes, size):
    """The trainer lays each prompt's G responses on adjacent rows."""
    return [episodes[i : i + size] for i in range(0, len(episodes), size)]


def advantages_reinforce(episodes, args, state):
    """A_t = G_t - b (b: none, batch-mean or a moving average of returns at rate 0.1); whitening divides by
    the batch std only, so the baseline alone centres the advantages."""
    for e in episodes:
        e.returns = discounted_returns(e.rewards, args.gamma)
    batch_mean = mean([g for e in episodes for g in e.returns])
    baseline = 0.0
    if args.baseline == "batch-mean":
        baseline = batch_mean
    elif args.baseline == "moving-average":
        baseline = state.get("moving_average", 0.0)
        previous = state.get("moving_average", batch_mean)
        state["moving_average"] = previous + 0.1 * (batch_mean - previous)
    for e in episodes:
        e.advantages = [g - baseline for g in e.returns]
    if args.whitenAdvantages:
        std = math.sqrt(variance([a for e in episodes for a in e.advantages]))
        if std > 0:  # a constant batch keeps its advantages (without centring, 1/1e-8 would blow them up)
            for e in episodes:
                e.advantages = [a / (std + 1e-8) for a in e.advantages]


def advantages_gae(episodes, args, state):
    """Actor-critic, PPO and TRPO: GAE from the rollout-time values, whitened over the batch's action
    tokens (subtract the mean, divide by the std, as CleanRL); value targets keep their scale."""
    for e in episodes:
        e.advantages, e.returns = gae(e.rewards, e.values, args.gamma, args.lambda_)
    if args.whitenAdvantages:
        flat = iter(whiten([a for e in episodes for a in e.advantages]))
        for e in episodes:
            e.advantages = [next(flat) for _ in e.advantages]


def advantages_grpo(episodes, args, state):
    """Each response's reward r_i (its summed token rewards: the score, minus beta KL when the KL is in the
    reward); A_i = (r_i - mean of its group) / (unbiased std of the group + 1e-4), or without stdNorm
    r_i - mean (Dr. GRPO), on every action token."""
    for group in groups(episodes, args.groupSize):
        rewards = [sum(e.rewards) for e in group]
        m = mean(rewards)
        scale = math.sqrt(variance(rewards)) + 1e-4 if args.stdNorm else 1.0
        for e, r in zip(group, rewards):
            e.advantages = [(r - m) / scale] * len(e.positions)
            e.returns = [r] * len(e.positions)


def advantages_rloo(episodes, args, state):
    """R_i = sum of the response's rewards (undiscounted); baseline = mean return of the other G - 1 in its
    group; optional whitening over the batch's responses (one number per response)."""
    per_response = []
    for group in groups(episodes, args.groupSize):
        returns = [sum(e.rewards) for e in group]
        total = sum(returns)
        for e, r in zip(group, returns):
            baseline = (total - r) / (len(group) - 1) if len(group) > 1 else 0.0
            per_response.append(r - baseline)
            e.returns = [r] * len(e.positions)
    if args.whitenAdvantages:
        per_response = whiten(per_response)
    for e, a in zip(episodes, per_response):
        e.advantages = [a] * len(e.positions)


def batch_tensors(episodes, tokens):
    """[rows, T] planes of the episodes' rows: the action mask and, at each action position, log pi_old,
    log pi_ref, V_old, the advantage and the return (0 elsewhere)."""
    rows, T = len(episodes), tokens.shape[1]
    planes = {name: [[0.0] * T for _ in range(rows)] for name in ("old_logp", "ref_logp", "old_values", "advantages", "returns")}
    mask = [[False] * T for _ in range(rows)]
    for i, e in enumerate(episodes):
        for k, t in enumerate(e.positions):
            mask[i][t] = True
            planes["old_logp"][i][t] = e.old_logp[k]
            planes["ref_logp"][i][t] = e.ref_logp[k]
            planes["old_values"][i][t] = e.values[k]
            planes["advantages"][i][t] = e.advantages[k]
            planes["returns"][i][t] = e.returns[k]
    batch = {name: torch.tensor(plane) for name, plane in planes.items()}
    batch["mask"] = torch.tensor(mask)
    batch["tokens"] = tokens[[e.row for e in episodes]]
    return batch


def rows_of(batch, index):
    return {name: plane[index] for name, plane in batch.items()}


# ---------------------------------------------------------------------------------------------------------
# Losses. Means are over action tokens; masked positions are zeroed before any exp (0 * inf = NaN).


def k3_to_reference(logp, mb):
    """Per token, k3 = pi_ref/pi - log(pi_ref/pi) - 1 on the current policy (the KL in the loss)."""
    log_ratio = torch.where(mb["mask"], mb["ref_logp"] - logp, torch.zeros_like(logp))
    return log_ratio.exp() - log_ratio - 1


def common_terms(args, logp, log_softmax, mb, kl_beta):
    """+ beta * mean k3 when the KL is in the loss (kl_beta > 0), - c_e * mean entropy."""
    total = 0.0
    if kl_beta > 0:
        total = total + kl_beta * masked_mean(k3_to_reference(logp, mb), mb["mask"])
    if args.entropyCoef > 0:
        total = total - args.entropyCoef * masked_mean(entropy_of(log_softmax), mb["mask"])
    return total


def loss_policy_gradient(args, policy, mb, kl_beta, critic):
    """REINFORCE: -mean(A log pi); actor-critic adds c_v * 0.5 * mean((V - R)^2)."""
    logp, values, log_softmax = evaluate(policy, mb["tokens"])
    policy_loss = masked_mean(-mb["advantages"] * logp, mb["mask"])
    total = policy_loss + common_terms(args, logp, log_softmax, mb, kl_beta)
    report = {"loss/policy": policy_loss}
    if critic:
        value_loss = masked_mean(0.5 * (values - mb["returns"]) ** 2, mb["mask"])
        total = total + args.valueCoef * value_loss
        report["loss/value"] = value_loss
    return total, report


def clipped_surrogate(args, logp, mb, high):
    log_ratio = torch.where(mb["mask"], logp - mb["old_logp"], torch.zeros_like(logp))
    ratio = log_ratio.exp()
    objective = torch.maximum(-mb["advantages"] * ratio, -mb["advantages"] * ratio.clamp(1 - args.clipEpsilon, 1 + high))
    with torch.no_grad():
        outside = ((ratio < 1 - args.clipEpsilon) | (ratio > 1 + high)).float()
        report = {
            "policy/clipfrac": masked_mean(outside, mb["mask"]),
            "policy/approx_kl": masked_mean(ratio - 1 - log_ratio, mb["mask"]),  # k3 of old -> new
        }
    return objective, report


def loss_ppo(args, policy, mb, kl_beta):
    """L_clip = mean(max(-A r, -A clip(r, 1 +- eps))), r = e^(logp - old); value loss
    0.5 mean(max((V - R)^2, (V_clip - R)^2)), V_clip = V_old + clip(V - V_old, +-eps_v); total
    L_clip + c_v L_v - c_e H."""
    logp, values, log_softmax = evaluate(policy, mb["tokens"])
    objective, report = clipped_surrogate(args, logp, mb, args.clipEpsilon)
    policy_loss = masked_mean(objective, mb["mask"])
    if args.valueClip > 0:
        delta = values - mb["old_values"]
        clipped = mb["old_values"] + delta.clamp(-args.valueClip, args.valueClip)
        value_loss = masked_mean(0.5 * torch.maximum((values - mb["returns"]) ** 2, (clipped - mb["returns"]) ** 2), mb["mask"])
        report["value/clipfrac"] = masked_mean((delta.abs() > args.valueClip).float(), mb["mask"])
    else:
        value_loss = masked_mean(0.5 * (values - mb["returns"]) ** 2, mb["mask"])
        report["value/clipfrac"] = 0.0
    total = policy_loss + args.valueCoef * value_loss + common_terms(args, logp, log_softmax, mb, kl_beta)
    report.update({"loss/policy": policy_loss, "loss/value": value_loss})
    return total, report


def loss_grpo(args, policy, mb, kl_beta):
    """Per token l_t = max(-A r, -A clip(r, 1 - eps, 1 + eps_high)) + beta k3_t, aggregated by lossAgg:
    response: (1/G) sum_i (1/|o_i|) sum_t; token: sum_i sum_t / sum_i |o_i| (DAPO); constant:
    (1/G) sum_i (1/maxNewTokens) sum_t (Dr. GRPO). ratioLevel sequence: one ratio per response,
    e^(mean_t(logp - old)), clipped once (GSPO). Minus c_e times the mean entropy."""
    logp, _, log_softmax = evaluate(policy, mb["tokens"])
    mask = mb["mask"]
    rows = mask.shape[0]
    lengths = mask.sum(1, keepdim=True).clamp(min=1).float()
    if args.lossAgg == "response":
        weights = 1 / (rows * lengths)
    elif args.lossAgg == "token":
        weights = torch.full((rows, 1), 1 / max(int(mask.sum()), 1))
    else:
        weights = torch.full((rows, 1), 1 / (rows * args.maxNewTokens))

    def aggregate(x):
        return torch.where(mask, x * weights, torch.zeros_like(x)).sum()

    high = args.clipEpsilonHigh if args.clipEpsilonHigh > 0 else args.clipEpsilon
    token_log_ratio = torch.where(mask, logp - mb["old_logp"], torch.zeros_like(logp))
    if args.ratioLevel == "sequence":
        sequence = token_log_ratio.sum(1, keepdim=True) / lengths
        log_ratio = torch.where(mask, sequence.expand_as(logp), torch.zeros_like(logp))
    else:
        log_ratio = token_log_ratio
    ratio = log_ratio.exp()
    objective = torch.maximum(-mb["advantages"] * ratio, -mb["advantages"] * ratio.clamp(1 - args.clipEpsilon, 1 + high))
    policy_loss = aggregate(objective)
    total = policy_loss
    if kl_beta > 0:
        total = total + kl_beta * aggregate(k3_to_reference(logp, mb))
    if args.entropyCoef > 0:
        total = total - args.entropyCoef * masked_mean(entropy_of(log_softmax), mask)
    with torch.no_grad():
        outside = ((ratio < 1 - args.clipEpsilon) | (ratio > 1 + high)).float()
        report = {
            "loss/policy": policy_loss,
            "policy/clipfrac": masked_mean(outside, mask),
            "policy/approx_kl": masked_mean(token_log_ratio.exp() - 1 - token_log_ratio, mask),
        }
    return total, report


def loss_rloo(args, policy, mb, kl_beta):
    """-(1/N) sum_i A_i sum_t log pi(a_t): each response's log-probability times its advantage."""
    logp, _, log_softmax = evaluate(policy, mb["tokens"])
    weighted = torch.where(mb["mask"], mb["advantages"] * logp, torch.zeros_like(logp))
    policy_loss = -weighted.sum() / mb["mask"].shape[0]
    return policy_loss + common_terms(args, logp, log_softmax, mb, kl_beta), {"loss/policy": policy_loss}


# ---------------------------------------------------------------------------------------------------------
# Updates: the optimizer steps of each algorithm on one batch.


class Averages:
    """Each metric's mean over the update's optimizer steps."""

    def __init__(self):
        self.sums, self.counts = {}, {}

    def add(self, name, value):
        self.sums[name] = self.sums.get(name, 0.0) + float(value)
        self.counts[name] = self.counts.get(name, 0) + 1

    def means(self):
        return {name: total / self.counts[name] for name, total in self.sums.items()}


def optimizer_step(args, optimizer, lr, loss_fn, metrics):
    """One step: the loss's gradient, its global norm clipped, Adam. Returns the loss's reported terms."""
    optimizer.zero_grad()
    total, report = loss_fn()
    total.backward()
    metrics.add("optim/grad_norm", optimizer.step(lr, args.maxGradNorm))
    metrics.add("loss/total", total)
    for name, value in report.items():
        metrics.add(name, value)
    return report


def minibatches(n, count):
    """One epoch: a fresh shuffle cut into exactly `count` slices whose sizes differ by at most one."""
    order = torch.randperm(n)
    count = max(1, min(count, n))
    return [order[(i * n) // count : ((i + 1) * n) // count] for i in range(count)]


def update_one_step(loss):
    """REINFORCE, actor-critic and RLOO: one optimizer step on the whole batch."""

    def update(args, policy, optimizer, batch, lr, kl_beta, metrics):
        optimizer_step(args, optimizer, lr, lambda: loss(args, policy, batch, kl_beta), metrics)

    return update


def update_clipped_epochs(loss):
    """PPO and GRPO: `epochs` passes, each over `minibatches` shuffled slices; stop early once an epoch's
    mean approx-KL is above 1.5 targetKl (Spinning Up's rule)."""

    def update(args, policy, optimizer, batch, lr, kl_beta, metrics):
        n = batch["mask"].shape[0]
        for _ in range(args.epochs):
            epoch_kl = []
            for index in minibatches(n, args.minibatches):
                report = optimizer_step(args, optimizer, lr, lambda: loss(args, policy, rows_of(batch, index), kl_beta), metrics)
                epoch_kl.append(float(report["policy/approx_kl"]))
            if args.targetKl > 0 and mean(epoch_kl) > 1.5 * args.targetKl:
                break

    return update


CG_ITERATIONS, CG_DAMPING, BACKTRACK_COEF, BACKTRACK_STEPS = 10, 0.1, 0.8, 10


def update_trpo(args, policy, optimizer, batch, lr, kl_beta, metrics):
    """One natural-gradient step inside a KL trust region (Schulman et al. 2015, as Spinning Up's trpo):
    g = grad of L(theta) = mean(r A) + c_e H at theta_old; x ~ (F + 0.1 I)^-1 g by 10 conjugate-gradient
    iterations, F v the Hessian-vector product of the mean KL(pi_old || pi_theta) (exact here, by double
    backprop; the playground takes a central difference of its gradient, within 1e-3 of it); full step
    sqrt(2 delta / x^T (F + 0.1 I) x) x, shrunk by 0.8 up to 10 times until KL <= delta and -L is no higher.
    Then epochs x minibatches Adam steps on 0.5 (V - R)^2, applied to the value head only (the trunk is
    shared with the policy, and moving it would leave the trust region)."""
    params = list(policy.parameters())
    mask = batch["mask"]
    with torch.no_grad():
        _, _, old_log_softmax = evaluate(policy, batch["tokens"])

    def surrogate():  # -L(theta), plus beta k3 when the KL is in the loss
        logp, _, log_softmax = evaluate(policy, batch["tokens"])
        ratio = torch.where(mask, logp - batch["old_logp"], torch.zeros_like(logp)).exp()
        return -masked_mean(ratio * batch["advantages"], mask) + common_terms(args, logp, log_softmax, batch, kl_beta)

    def mean_kl():
        _, _, log_softmax = evaluate(policy, batch["tokens"])
        return masked_mean((old_log_softmax.exp() * (old_log_softmax - log_softmax)).sum(-1), mask)

    def flat_grad(y, **kwargs):
        grads = torch.autograd.grad(y, params, allow_unused=True, **kwargs)
        return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])

    def fisher_vector_product(v):
        kl_grad = flat_grad(mean_kl(), create_graph=True)
        return flat_grad(kl_grad @ v).detach() + CG_DAMPING * v

    loss_before = surrogate()
    g = -flat_grad(loss_before)
    loss_before = float(loss_before)
    metrics.add("optim/grad_norm", g.norm())

    # Conjugate gradient for (F + damping) x = g, from x = 0.
    x, r, p = torch.zeros_like(g), g.clone(), g.clone()
    rr = r @ r
    for _ in range(CG_ITERATIONS):
        ap = fisher_vector_product(p)
        alpha = rr / (p @ ap + 1e-8)
        x, r = x + alpha * p, r - alpha * ap
        rr_next = r @ r
        p = r + rr_next / max(float(rr), 1e-30) * p
        rr = rr_next
    full_step = x * torch.sqrt(2 * args.maxKl / (x @ fisher_vector_product(x) + 1e-8))

    start = parameters_to_vector(params).detach()
    accepted, backtracks, kl = False, BACKTRACK_STEPS, 0.0
    with torch.no_grad():
        for k in range(BACKTRACK_STEPS):
            vector_to_parameters(start + BACKTRACK_COEF**k * full_step, params)
            trial_kl, trial_loss = float(mean_kl()), float(surrogate())
            if trial_kl <= args.maxKl and trial_loss <= loss_before:
                accepted, backtracks, kl = True, k, trial_kl
                metrics.add("loss/policy", trial_loss)
                break
        if not accepted:
            vector_to_parameters(start, params)
    metrics.add("trpo/kl", kl)
    metrics.add("trpo/line_search_steps", backtracks)
    metrics.add("trpo/accepted", 1 if accepted else 0)

    # The critic: Adam on the value head only.
    critic = {id(p) for p in policy.value_head.parameters()}
    n = mask.shape[0]
    for _ in range(args.epochs):
        for index in minibatches(n, args.minibatches):
            mb = rows_of(batch, index)
            optimizer.zero_grad()
            _, values, _ = evaluate(policy, mb["tokens"])
            value_loss = masked_mean(0.5 * (values - mb["returns"]) ** 2, mb["mask"])
            value_loss.backward()
            for q in params:
                if id(q) not in critic:
                    q.grad = None
            optimizer.step(lr, args.maxGradNorm)
            metrics.add("loss/value", value_loss)


ALGORITHMS = {
    # name: (advantages, update, trains a critic, puts the KL in the reward by default)
    "reinforce": (advantages_reinforce, update_one_step(lambda a, p, mb, kb: loss_policy_gradient(a, p, mb, kb, critic=False)), False, True),
    "actor-critic": (advantages_gae, update_one_step(lambda a, p, mb, kb: loss_policy_gradient(a, p, mb, kb, critic=True)), True, True),
    "ppo": (advantages_gae, update_clipped_epochs(loss_ppo), True, True),
    "trpo": (advantages_gae, update_trpo, True, True),
    "grpo": (advantages_grpo, update_clipped_epochs(loss_grpo), False, False),
    "rloo": (advantages_rloo, update_one_step(loss_rloo), False, True),
}


# ---------------------------------------------------------------------------------------------------------
# Metrics, with the playground's names (null: not defined for this run).


def explained_variance(values, returns):
    var_returns = variance(returns)
    if var_returns == 0:
        return None
    return 1 - variance([r - v for r, v in zip(returns, values)]) / var_returns


def update_metrics(args, task, episodes, device, facts):
    scores = [e.score for e in episodes]
    score_mean = mean(scores)
    action_tokens = sum(len(e.positions) for e in episodes)
    failed = [len(e.positions) for e in episodes if e.score < 1]
    update_ms = facts["update_ms"]
    has_critic = ALGORITHMS[args.algorithm][2]
    row = {
        "update": facts["update"],
        "episodes": facts["episodes"],
        "time_s": facts["time_s"],
        "reward/score": score_mean,
        "reward/score_std": math.sqrt(mean([(s - score_mean) ** 2 for s in scores])),
        "reward/total": mean([sum(e.rewards) for e in episodes]),
        "reward/normalised": mean([e.outcome for e in episodes]) if args.rewardNorm else None,
        "reward/gold": score_mean,
        "kl/ref": mean([e.kl_k1 for e in episodes]),
        "kl/ref_k3": mean([e.kl_k3 for e in episodes]),
        "kl/beta": facts["beta"],
        "policy/entropy": mean([h for e in episodes for h in e.entropy]),
        "value/explained_variance": explained_variance([v for e in episodes for v in e.values], [r for e in episodes for r in e.returns])
        if has_critic
        else None,
        "episode/length": action_tokens / len(episodes),
        "episode/failed_length": mean(failed) if failed else None,
        "episode/eos_rate": mean([1.0 if e.response and e.response[-1] == EOS else 0.0 for e in episodes]),
        "episode/turns": mean([task.turns_used(e.prompt, e.response) for e in episodes]),
        "episode/tool_calls": 0.0,
        "episode/think_tokens": mean([task.think_tokens(e.response) for e in episodes]) if isinstance(task, Chain) else None,
        "episode/think_tracks": mean([1.0 if task.tracks(e.prompt, e.response) else 0.0 for e in episodes]) if isinstance(task, Chain) else None,
        "perf/update_ms": update_ms,
        "perf/tokens_per_s": action_tokens / update_ms * 1000 if update_ms > 0 else None,
        "perf/rollout_ms": facts["rollout_ms"],
        "perf/optimize_ms": update_ms - facts["rollout_ms"],
        "optim/lr": facts["lr"],
        "sft/loss": facts["sft_loss"],
    }
    out = {}
    for name in METRIC_NAMES:
        value = row[name] if name in row else device.get(name)
        out[name] = value if value is not None and math.isfinite(value) else None
    return out


# ---------------------------------------------------------------------------------------------------------
# The run.


def log(message):
    print(message, file=sys.stderr, flush=True)


def main():
    args = parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 1))  # a tiny model: one thread is fastest
    random.seed(args.seed)  # prompts and demonstrations
    torch.manual_seed(args.seed)  # weights, sampling and shuffles
    started_at = time.perf_counter()

    task = TASKS[args.task](args)
    advantages_of, update_of, _, kl_in_reward_by_default = ALGORITHMS[args.algorithm]
    kl_in_reward = kl_in_reward_by_default if args.klIn == "auto" else args.klIn == "reward"
    policy = Transformer(args, len(task.vocab), task.actions)
    log(f"{args.task}, {args.algorithm}, seed {args.seed}: {sum(p.numel() for p in policy.parameters())} parameters, vocabulary {' '.join(task.vocab)}")

    # 1. Format pretraining, then the frozen reference and a fresh optimizer for RL.
    optimizer = Adam(policy.parameters(), args.adamBeta2, args.adamEpsilon)
    sft_loss = None
    for _ in range(args.sftSteps):
        sft_loss = sft_step(args, task, policy, optimizer)
    if args.sftSteps > 0:
        log(f"format pretraining: {args.sftSteps} steps, sft/loss {sft_loss:.4f}")
    reference = copy.deepcopy(policy).requires_grad_(False)
    optimizer = Adam(policy.parameters(), args.adamBeta2, args.adamEpsilon)

    beta, lr = args.beta, args.learningRate  # adaptive KL and the KL-adaptive learning rate move these
    state = {}  # REINFORCE's moving-average baseline, rewardNorm's running statistics
    episodes_so_far = 0
    for update in range(1, args.updates + 1):
        started = time.perf_counter()
        # 2. batchSize / G prompts, each answered G times on adjacent rows.
        prompts = [p for p in (task.prompt() for _ in range(args.batchSize // args.groupSize)) for _ in range(args.groupSize)]
        batch = rollout(args, task, policy, reference, prompts)
        rolled_out = time.perf_counter()

        # 3. Scores, rewards with the KL penalty (unless the KL goes into the loss), advantages.
        outcomes_of = (lambda scores: normalise_scores(scores, state)) if args.rewardNorm else (lambda scores: scores)
        episodes = build_episodes(args, task, batch, beta if kl_in_reward else 0.0, outcomes_of)
        advantages_of(episodes, args, state)

        # 4. The optimizer steps; a non-finite loss or gradient restores the weights from before.
        saved = ([p.detach().clone() for p in policy.parameters()], optimizer.state())
        device = Averages()
        tensors = batch_tensors(episodes, batch["tokens"])
        update_of(args, policy, optimizer, tensors, lr, 0.0 if kl_in_reward else beta, device)
        with torch.no_grad():  # how far the whole update moved the policy: exact KL(pi_old || pi_new)
            _, _, new_log_softmax = evaluate(policy, batch["tokens"])
            old = batch["log_softmax"]
            device.add("policy/update_kl", masked_mean((old.exp() * (old - new_log_softmax)).sum(-1), tensors["mask"]))
        device = device.means()
        finished = time.perf_counter()
        diverged = [k for k in ("loss/policy", "loss/value", "loss/total", "optim/grad_norm") if k in device and not math.isfinite(device[k])]
        if diverged:
            log(f"warning: {diverged[0]} became {device[diverged[0]]} at update {update}; the update was skipped.")
            with torch.no_grad():
                for p, s in zip(policy.parameters(), saved[0]):
                    p.copy_(s)
            optimizer.load(saved[1])

        # 5. Bookkeeping: adaptive beta, the KL-adaptive learning rate, metrics.
        episodes_so_far += len(episodes)
        used_beta, used_lr = beta, lr
        if args.adaptiveKl and not diverged:
            error = min(0.2, max(-0.2, mean([e.kl_k1 for e in episodes]) / args.klTarget - 1))
            beta = beta * (1 + error * args.batchSize / args.klHorizon)
        approx_kl = device.get("policy/approx_kl")
        if args.adaptiveLr and not diverged and approx_kl is not None and math.isfinite(approx_kl):
            if approx_kl > 2 * args.lrKlTarget:
                lr = min(lr, min(1e-2, max(1e-6, lr / 2)))
            elif approx_kl < args.lrKlTarget / 2:
                lr = max(lr, min(1e-2, max(1e-6, lr * 1.5)))
        facts = {
            "update": update,
            "episodes": episodes_so_far,
            "time_s": time.perf_counter() - started_at,
            "beta": used_beta,
            "lr": used_lr,
            "sft_loss": sft_loss,
            "update_ms": (finished - started) * 1000,
            "rollout_ms": (rolled_out - started) * 1000,
        }
        metrics = update_metrics(args, task, episodes, device, facts)
        print(json.dumps(metrics), flush=True)
        e = episodes[0]
        log(
            f"update {update}  score {metrics['reward/score']:.3f}  kl {metrics['kl/ref']:.4f}  "
            f"entropy {metrics['policy/entropy']:.3f}  {metrics['perf/update_ms']:.0f} ms  "
            f"e.g. [{task.decode(task.visible_prompt(e.prompt))}] -> [{task.decode(e.response)}]"
        )


if __name__ == "__main__":
    main()
