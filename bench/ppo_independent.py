"""The engine's PPO, GRPO, REINFORCE and actor-critic updates on the reverse task, written for speed in plain PyTorch.

An independent implementation of exactly the work of one `trainer.step()` of the engine (src/engine/),
made as fast as eager PyTorch on one CPU thread allows without changing what is computed:

  rollout   prompts; maxNewTokens sampling steps under inference_mode with a key/value cache, each step
            computing only the positions no step has yet (the prompt, then one a step, the last step the
            rest of the [B, T] buffer), whose logits and values together are log π_old, V_old and entropy at
            every position; one forward of the frozen reference for log π_ref. (--prefix-passes runs each
            step's whole prefix instead, as the engine does on its backends other than wasm.)
  optimise  scores, per-token rewards (−β·k1 + score on the last action token), GAE(γ, λ) and whitening
            (PPO, actor-critic), reward-to-go minus the batch-mean baseline scaled by its std (REINFORCE)
            or group advantages (GRPO); epochs × minibatches of clipped-surrogate steps (PPO: value
            clip and c_v; GRPO: β·k3 to the reference in the loss, per-response mean), or one plain
            policy-gradient step on the whole batch (REINFORCE; actor-critic with ½c_v(V − R)²), entropy bonus,
            global grad-norm clip, Adam ε 1e-5; one forward after the last step for the update's KL; the
            step's metrics averaged and read once.

What makes it fast (bench/README.md, issue 17, has the measurements; --plain-optimizer, --grad-rollout and
--split-heads undo one thing each; --prefix-passes samples without the cache, as the engine's other backends;
--rollout-graph takes REINFORCE's and actor-critic's loss from the sampling steps' graph, as the engine on
wasm takes it from its recorded pass, and is slower here than running the pass):
inference_mode for every pass without a gradient; every parameter a view of one flat vector whose gradient
is one flat buffer, so the gradient norm, the clip and Adam are a handful of whole-vector ops instead of ~10
per parameter (as the engine's optimizer); the policy and value heads as one [V + 1, d] matrix (one matmul);
the loss on the maxNewTokens action positions only; rewards, GAE and whitening as a few [B, maxNewTokens]
tensor ops (GAE as one matmul), no Python loop over tokens or episodes.

Run with /usr/bin/python3 (Debian's python3-torch, with libopenblas0-pthread: on Debian's reference BLAS
every matrix product is several times slower) and OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1.
"""

import argparse
import contextlib
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

PAD, BOS, SEP, EOS = 0, 1, 2, 3
SPECIALS = 4
GELU_C = 2 * math.sqrt(2 / math.pi)


def gelu(x):
    """GELU, tanh approximation (the engine's): 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)(x + 0.044715x³).
    Without a gradient, x·σ(2u) in place: Debian's torch 1.13 computes tanh slowly (F.gelu 423 µs against 263
    on [128, 10, 128]); with one, F.gelu's fused backward beats autograd through five ops (852 against 1,522
    µs forward + backward)."""
    if torch.is_grad_enabled():
        return F.gelu(x, approximate="tanh")
    z = x * x
    return z.mul_(GELU_C * 0.044715).add_(GELU_C).mul_(x).sigmoid_().mul_(x)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--algorithm", choices=["ppo", "grpo", "reinforce", "actor-critic"], default="ppo")
    p.add_argument("--group", type=int, default=None, help="responses per prompt (default: 1, grpo 8)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--beta", type=float, default=0.05)
    p.add_argument("--entropy-coef", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minibatches", type=int, default=4)
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--alphabet", type=int, default=5)
    p.add_argument("--sft-steps", type=int, default=60)
    p.add_argument("--adam-beta2", type=float, default=0.99)
    p.add_argument("--adam-epsilon", type=float, default=1e-5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--updates", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--learn", type=int, default=0, help="untimed updates; prints the mean score per 10")
    # Measurements only (bench/README.md): each changes how, not what, is computed.
    p.add_argument(
        "--prefix-passes",
        action="store_true",
        help="sample each step's whole prefix (the engine's work on its backends other than wasm; measurement)",
    )
    p.add_argument(
        "--plain-optimizer",
        action="store_true",
        help="per-parameter torch.optim.Adam(foreach) + clip_grad_norm_ instead of the flat vector (measurement)",
    )
    p.add_argument("--grad-rollout", action="store_true", help="rollout with autograd on (measurement only)")
    p.add_argument(
        "--rollout-graph",
        action="store_true",
        help="REINFORCE and actor-critic take their loss from the sampling steps' graph instead of a new pass "
        "(the engine's recorded forward; slower here, measurement)",
    )
    p.add_argument("--split-heads", action="store_true", help="separate policy/value matmuls (measurement)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if args.group is None:
        args.group = 8 if args.algorithm == "grpo" else 1
    return args


class Settings:
    """The engine's defaults (link version 4), overridden by the command line."""

    def __init__(self, a):
        self.algorithm = a.algorithm
        self.group = a.group
        self.batch = a.batch
        self.lr = a.lr
        self.beta = a.beta
        self.entropy_coef = a.entropy_coef
        self.epochs = a.epochs
        self.minibatches = a.minibatches
        self.d = a.d_model
        self.layers = a.layers
        self.heads = a.heads
        self.alphabet = a.alphabet
        self.sft_steps = a.sft_steps
        self.adam_beta2 = a.adam_beta2
        self.adam_epsilon = a.adam_epsilon
        self.prompt_length = 3
        self.context = 10
        self.max_new = 5
        self.gamma = 1.0
        self.lam = 0.95
        self.clip = 0.2
        self.value_clip = 0.2
        self.value_coef = 0.5
        self.max_grad_norm = 1.0
        self.temperature = 1.0
        self.vocab = SPECIALS + a.alphabet

    def engine_names(self):
        """Every setting this script runs, under the engine's Config names (checked by bench/pytorch.ts)."""
        return {
            "task": "reverse",
            "scoring": "dense",
            "alphabetSize": self.alphabet,
            "promptLength": self.prompt_length,
            "contextLength": self.context,
            "maxNewTokens": self.max_new,
            "dModel": self.d,
            "nLayers": self.layers,
            "nHeads": self.heads,
            "algorithm": self.algorithm,
            "groupSize": self.group,
            "batchSize": self.batch,
            "learningRate": self.lr,
            "beta": self.beta,
            "entropyCoef": self.entropy_coef,
            "epochs": self.epochs,
            "minibatches": self.minibatches,
            "sftSteps": self.sft_steps,
            "adamBeta2": self.adam_beta2,
            "adamEpsilon": self.adam_epsilon,
            "gamma": self.gamma,
            "lambda": self.lam,
            "whitenAdvantages": True,
            "clipEpsilon": self.clip,
            "clipEpsilonHigh": 0,
            "valueClip": self.value_clip,
            "valueCoef": self.value_coef,
            "maxGradNorm": self.max_grad_norm,
            "temperature": self.temperature,
            "klEstimator": "k1",
            "klIn": "auto",
            "adaptiveKl": False,
            "adaptiveLr": False,
            "targetKl": 0,
            "rewardNorm": False,
            "lossAgg": "response",
            "stdNorm": True,
            "ratioLevel": "token",
            **({"baseline": "batch-mean"} if self.algorithm == "reinforce" else {}),
        }


# ---------------------------------------------------------------------------------------------------------
# The model: one flat parameter vector, every weight a view of it (and every gradient a view of one flat
# gradient buffer, which autograd accumulates into in place).


class Model:
    def __init__(self, s, gen, split_heads=False):
        self.s = s
        d, v, t, L = s.d, s.vocab, s.context, s.layers
        self.split_heads = split_heads
        residual = 0.02 / math.sqrt(2 * L)
        # (name, shape, init): normal std or a constant. Linear weights are [out, in] (F.linear's layout).
        spec = [("tok", (v, d), 0.02), ("pos", (t, d), 0.02)]
        for l in range(L):
            spec += [
                (f"{l}.ln1.g", (d,), "one"),
                (f"{l}.ln1.b", (d,), "zero"),
                (f"{l}.qkv.w", (3 * d, d), 0.02),
                (f"{l}.qkv.b", (3 * d,), "zero"),
                (f"{l}.out.w", (d, d), residual),
                (f"{l}.out.b", (d,), "zero"),
                (f"{l}.ln2.g", (d,), "one"),
                (f"{l}.ln2.b", (d,), "zero"),
                (f"{l}.in.w", (4 * d, d), 0.02),
                (f"{l}.in.b", (4 * d,), "zero"),
                (f"{l}.mlp.w", (d, 4 * d), residual),
                (f"{l}.mlp.b", (d,), "zero"),
            ]
        spec += [("lnf.g", (d,), "one"), ("lnf.b", (d,), "zero")]
        # Policy and value heads as one matrix: rows 0…V−1 the policy, row V the value (starts at zero).
        spec += [("head.w", (v + 1, d), "head"), ("head.b", (v + 1,), "zero")]
        n = sum(math.prod(shape) for _, shape, _ in spec)
        self.flat = torch.zeros(n)
        self.flat_grad = torch.zeros(n)
        self.p = {}
        offset = 0
        for name, shape, init in spec:
            size = math.prod(shape)
            view = self.flat[offset : offset + size].view(shape)
            if init == "one":
                view.fill_(1)
            elif init == "head":
                view[:v].normal_(0, 0.02, generator=gen)
            elif init != "zero":
                view.normal_(0, init, generator=gen)
            param = torch.nn.Parameter(view)
            param.grad = self.flat_grad[offset : offset + size].view(shape)
            self.p[name] = param
            offset += size
        self.params = list(self.p.values())
        # Tokens the policy may not write (<pad>, <bos>, <sep>) get −1e9, after the temperature.
        self.logit_mask = torch.zeros(v)
        self.logit_mask[[PAD, BOS, SEP]] = -1e9
        self.causal = torch.full((t, t), -1e9).triu(1)

    def copy_from(self, other):
        self.flat.copy_(other.flat)

    def forward(self, tokens, keep_from=0):
        """tokens [B, T] → logits [B, T − keep_from, V] (temperature 1, masked) and values [B, T − keep_from]
        of positions keep_from… (the engine's forward keepFrom: after the last block's keys and values, the
        rest of that block and the heads run on those positions alone; the model is causal)."""
        s, p = self.s, self.p
        B, T = tokens.shape
        d, H = s.d, s.heads
        hd = d // H
        x = F.embedding(tokens, p["tok"]) + p["pos"][:T]
        for l in range(s.layers):
            h = F.layer_norm(x, (d,), p[f"{l}.ln1.g"], p[f"{l}.ln1.b"], 1e-5)
            q, k, v = F.linear(h, p[f"{l}.qkv.w"], p[f"{l}.qkv.b"]).view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
            first = keep_from if l == s.layers - 1 else 0
            n = T - first
            if first:
                x = x[:, first:]
                q = q[:, :, first:]
            att = torch.baddbmm(
                self.causal[first:T, :T].expand(B * H, n, T),
                q.reshape(B * H, n, hd),
                k.reshape(B * H, T, hd).transpose(1, 2),
                alpha=1 / math.sqrt(hd),
            ).softmax(-1)
            y = torch.bmm(att, v.reshape(B * H, T, hd)).view(B, H, n, hd).transpose(1, 2).reshape(B, n, d)
            x = x + F.linear(y, p[f"{l}.out.w"], p[f"{l}.out.b"])
            h = F.layer_norm(x, (d,), p[f"{l}.ln2.g"], p[f"{l}.ln2.b"], 1e-5)
            x = x + F.linear(gelu(F.linear(h, p[f"{l}.in.w"], p[f"{l}.in.b"])), p[f"{l}.mlp.w"], p[f"{l}.mlp.b"])
        h = F.layer_norm(x, (d,), p["lnf.g"], p["lnf.b"], 1e-5)
        V = s.vocab
        if self.split_heads:
            logits = F.linear(h, p["head.w"][:V], p["head.b"][:V]) + self.logit_mask
            values = F.linear(h, p["head.w"][V:], p["head.b"][V:]).squeeze(-1)
            return logits, values
        out = F.linear(h, p["head.w"], p["head.b"])
        return out[..., :V] + self.logit_mask, out[..., V]

    def new_cache(self, B, T):
        """An empty key/value cache for a [B, T] buffer: keys and values [B, H, T, hd] per layer."""
        s = self.s
        hd = s.d // s.heads
        return [(torch.zeros(B, s.heads, T, hd), torch.zeros(B, s.heads, T, hd)) for _ in range(s.layers)]

    def extend_cached(self, tokens, start, end, cache, functional=False):
        """Positions start…end−1 of tokens [B, T], attending to the cached ones before them (and adding
        their keys and values to the cache): logits [B, n, V] and values [B, n] of those positions.
        functional: the cache is a list of (keys, values) grown with torch.cat rather than written in place,
        so autograd can run back through every step (a one-step update's loss reads the rollout's graph)."""
        s, p = self.s, self.p
        B = tokens.shape[0]
        n = end - start
        d, H = s.d, s.heads
        hd = d // H
        x = F.embedding(tokens[:, start:end], p["tok"]) + p["pos"][start:end]
        for l in range(s.layers):
            h = F.layer_norm(x, (d,), p[f"{l}.ln1.g"], p[f"{l}.ln1.b"], 1e-5)
            q, k, v = F.linear(h, p[f"{l}.qkv.w"], p[f"{l}.qkv.b"]).view(B, n, 3, H, hd).permute(2, 0, 3, 1, 4)
            keys, values = cache[l]
            if functional:
                keys = k if keys is None else torch.cat([keys, k], 2)
                values = v if values is None else torch.cat([values, v], 2)
                cache[l] = (keys, values)
            else:
                keys[:, :, start:end] = k
                values[:, :, start:end] = v
            scores = q @ keys[:, :, :end].transpose(-1, -2) / math.sqrt(hd) + self.causal[start:end, :end]
            y = (scores.softmax(-1) @ values[:, :, :end]).transpose(1, 2).reshape(B, n, d)
            x = x + F.linear(y, p[f"{l}.out.w"], p[f"{l}.out.b"])
            h = F.layer_norm(x, (d,), p[f"{l}.ln2.g"], p[f"{l}.ln2.b"], 1e-5)
            x = x + F.linear(gelu(F.linear(h, p[f"{l}.in.w"], p[f"{l}.in.b"])), p[f"{l}.mlp.w"], p[f"{l}.mlp.b"])
        h = F.layer_norm(x, (d,), p["lnf.g"], p["lnf.b"], 1e-5)
        out = F.linear(h, p["head.w"], p["head.b"])
        return out[..., : s.vocab] + self.logit_mask, out[..., s.vocab]


class FlatAdam:
    """Adam (ε 1e-5, bias-corrected) after global grad-norm clipping, on the one flat vector: the engine's."""

    def __init__(self, model, lr, max_norm, betas=(0.9, 0.999), eps=1e-5):
        self.model, self.lr, self.max_norm, self.betas, self.eps = model, lr, max_norm, betas, eps
        self.m = torch.zeros_like(model.flat)
        self.v = torch.zeros_like(model.flat)
        self.t = 0
        self.denom = torch.empty_like(model.flat)

    def zero_grad(self):
        self.model.flat_grad.zero_()

    def step(self):
        """Returns the norm before clipping (a 0-d tensor)."""
        g = self.model.flat_grad
        norm = torch.linalg.vector_norm(g)
        g.mul_(torch.clamp(self.max_norm / (norm + 1e-6), max=1.0))
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        step_size = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        torch.sqrt(self.v, out=self.denom).add_(self.eps)
        self.model.flat.addcdiv_(self.m, self.denom, value=-step_size)
        return norm


class PlainAdam:
    """torch.optim.Adam(foreach) + clip_grad_norm_ over the parameter list: the textbook way (measurement)."""

    def __init__(self, model, lr, max_norm, betas, eps):
        for param in model.params:
            param.grad = None
        self.params = model.params
        self.max_norm = max_norm
        self.opt = torch.optim.Adam(model.params, lr=lr, betas=betas, eps=eps, foreach=True)

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def step(self):
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.max_norm)
        self.opt.step()
        return norm


# ---------------------------------------------------------------------------------------------------------
# One update.


class Trainer:
    def __init__(self, s, args):
        self.s = s
        self.args = args
        self.gen = torch.Generator().manual_seed(args.seed)
        self.policy = Model(s, self.gen, args.split_heads)
        self.opt = self.make_optimizer()
        self.sft_loss = None
        for _ in range(s.sft_steps):
            self.sft_step()
        # The frozen reference: a copy of the policy after format pretraining; a fresh optimizer for RL.
        self.reference = Model(s, torch.Generator().manual_seed(0), args.split_heads)
        self.reference.copy_from(self.policy)
        self.opt = self.make_optimizer()
        M = s.max_new
        # GAE as one matmul: A[:, t] = Σ_k≥t (γλ)^(k−t) δ[:, k].
        idx = torch.arange(M)
        lag = idx[:, None] - idx[None, :]
        self.gae_matrix = torch.where(lag >= 0, (s.gamma * s.lam) ** lag.clamp(min=0).float(), torch.zeros(()))
        # Reward-to-go (REINFORCE) the same way: G[:, t] = Σ_k≥t γ^(k−t) r[:, k].
        self.return_matrix = torch.where(lag >= 0, s.gamma ** lag.clamp(min=0).float(), torch.zeros(()))
        self.columns = torch.arange(M)

    def make_optimizer(self):
        s = self.s
        if self.args.plain_optimizer:
            return PlainAdam(self.policy, s.lr, s.max_grad_norm, (0.9, s.adam_beta2), s.adam_epsilon)
        return FlatAdam(self.policy, s.lr, s.max_grad_norm, (0.9, s.adam_beta2), s.adam_epsilon)

    def prompts(self, n):
        s = self.s
        return torch.randint(SPECIALS, SPECIALS + s.alphabet, (n, s.prompt_length), generator=self.gen)

    def buffer(self, prompts):
        s = self.s
        B = prompts.shape[0]
        tokens = torch.full((B, s.context), PAD, dtype=torch.long)
        tokens[:, 0] = BOS
        tokens[:, 1 : 1 + s.prompt_length] = prompts
        tokens[:, 1 + s.prompt_length] = SEP
        return tokens

    def sft_step(self):
        """Cross-entropy on demonstrations of the format: random letters of the answer's length, then <eos>."""
        s = self.s
        start = s.prompt_length + 2
        tokens = self.buffer(self.prompts(s.batch))
        n = s.prompt_length
        tokens[:, start : start + n] = torch.randint(SPECIALS, SPECIALS + s.alphabet, (s.batch, n), generator=self.gen)
        tokens[:, start + n] = EOS
        self.opt.zero_grad()
        logits, _ = self.policy.forward(tokens)
        window = logits[:, start - 1 : start + n]
        loss = F.cross_entropy(window.reshape(-1, s.vocab), tokens[:, start : start + n + 1].reshape(-1))
        loss.backward()
        self.opt.step()
        self.sft_loss = loss.detach()

    # -- rollout -----------------------------------------------------------------------------------------

    def rollout(self):
        s = self.s
        B, M = s.batch, s.max_new
        start = s.prompt_length + 2
        prompts = self.prompts(B // s.group).repeat_interleave(s.group, 0)
        tokens = self.buffer(prompts)
        # With --rollout-graph, a one-step update's loss (a pass over this buffer at these weights) comes from
        # the sampling steps' graph (the engine's recorded forward, src/engine/sampling.ts).
        record = self.records_forward()
        ctx = torch.enable_grad() if self.args.grad_rollout else torch.no_grad() if record else torch.inference_mode()
        recorded = None
        with ctx:
            u = torch.rand((M, B, s.vocab), generator=self.gen)
            gumbel = -torch.log(-torch.log(u * (1 - 1e-7) + 1e-7 / 2))
            done = torch.zeros(B, dtype=torch.bool)
            if self.args.prefix_passes:
                for step in range(M):
                    # The model is causal: a step's decision depends only on the prefix before it, so every
                    # step but the last runs the prefix alone (the engine on backends without its cache).
                    # (With autograd on, the buffer the embedding saved must not be written in place.)
                    upto = tokens.shape[1] if step == M - 1 else start + step
                    prefix = tokens[:, :upto]
                    logits, values = self.policy.forward(prefix.clone() if self.args.grad_rollout else prefix)
                    chosen = (logits[:, start - 1 + step] + gumbel[step]).argmax(-1).masked_fill_(done, PAD)
                    tokens[:, start + step] = chosen
                    done |= chosen == EOS
                # The model is causal: the last step's pass already holds the final logits and values at
                # every decision position (only the token after the last one was missing).
            else:
                # The engine's key/value cache (src/engine/sampling.ts on wasm): each step computes only the
                # positions no step has computed yet (the prompt, then one a step, the last step the rest),
                # and the pieces are the final logits and values at every position, as one whole pass gives.
                T = tokens.shape[1]
                cache = [(None, None)] * s.layers if record else self.policy.new_cache(B, T)
                logits = torch.empty(B, T, s.vocab)
                values = torch.empty(B, T)
                pieces = []
                computed = 0
                for step in range(M):
                    position = start + step
                    end = T if step == M - 1 else position
                    # (With autograd on, the buffer the embedding saved must not be written in place.)
                    piece = tokens[:, :end].clone() if self.args.grad_rollout or record else tokens
                    with torch.enable_grad() if record else contextlib.nullcontext():
                        step_logits, step_values = self.policy.extend_cached(
                            piece, computed, end, cache, functional=record
                        )
                    if record:
                        pieces.append((step_logits, step_values))
                    logits[:, computed:end], values[:, computed:end] = step_logits, step_values
                    computed = position
                    chosen = (logits[:, position - 1] + gumbel[step]).argmax(-1).masked_fill_(done, PAD)
                    tokens[:, position] = chosen
                    done |= chosen == EOS
            window = slice(start - 1, start - 1 + M)
            if record:
                # The loss's logits and values of the response window, with their graph.
                with torch.enable_grad():
                    recorded = tuple(torch.cat(p, 1)[:, window] for p in zip(*pieces))
            actions = tokens[:, start : start + M]
            log_softmax = logits[:, window].log_softmax(-1)
            old_logp = log_softmax.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            entropy = -(log_softmax.exp() * log_softmax).sum(-1)
            with torch.inference_mode():
                ref_logits, _ = self.reference.forward(tokens, keep_from=start - 1)
                ref_logp = ref_logits[:, :M].log_softmax(-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        out = {
            "tokens": tokens,
            "prompts": prompts,
            "actions": actions,
            "old_logp": old_logp,
            "ref_logp": ref_logp,
            "values": values[:, window],
            "entropy": entropy,
            "log_softmax": log_softmax,
        }
        out = {k: v.detach() for k, v in out.items()} if self.args.grad_rollout else out
        if recorded:
            out["recorded"] = recorded
        return out

    def records_forward(self):
        """--rollout-graph: REINFORCE and actor-critic take one step on the whole batch at the sampling
        weights, so the cached sampling can keep its graph for that step's loss instead of a new pass (the
        engine's recorded forward). Measured slower here than the pass (bench/README.md: autograd back
        through every step's small ops), so off by default: the fastest PyTorch runs the pass."""
        one_step = self.s.algorithm in ("reinforce", "actor-critic")
        return self.args.rollout_graph and one_step and not (self.args.prefix_passes or self.args.grad_rollout)

    # -- advantages --------------------------------------------------------------------------------------

    def advantages(self, r):
        """Scores, rewards and advantages as [B, M] tensors over the response window (mask = action tokens)."""
        s = self.s
        M, n = s.max_new, s.prompt_length
        actions = r["actions"]
        is_eos = actions == EOS
        # An action is a token written while no <eos> came before it (the <eos> itself included).
        mask = (is_eos.cumsum(1) - is_eos.long()) == 0
        length = mask.sum(1)
        # Dense score of the reverse task: matches of y (the response before <eos>) with the reversed
        # prompt, over max(|y|, n); |y| = tokens before <eos>, or maxNewTokens without one.
        y_length = length - is_eos.any(1).long()
        expected = r["prompts"].flip(1)
        matches = ((actions[:, :n] == expected) & (self.columns[:n] < y_length[:, None])).sum(1)
        score = matches / torch.clamp(y_length, min=n).float()
        maskf = mask.float()
        if s.algorithm == "reinforce":
            # The same rewards; G − the batch mean of G over action tokens, divided by G's unbiased std
            # (no centring: the baseline centres), kept as it is when the std is 0.
            kl = (r["old_logp"] - r["ref_logp"]) * maskf
            rewards = -s.beta * kl + F.one_hot(length - 1, M) * score[:, None]
            returns = (rewards @ self.return_matrix) * maskf
            adv = (returns - returns[mask].mean()) * maskf
            std = adv[mask].std()
            if std > 0:
                adv = adv / (std + 1e-8)
        elif s.algorithm in ("ppo", "actor-critic"):
            # r_t = −β·k1_t, + the score on the last action token; V after the last action is 0.
            kl = (r["old_logp"] - r["ref_logp"]) * maskf
            rewards = -s.beta * kl + F.one_hot(length - 1, M) * score[:, None]
            values = r["values"] * maskf
            next_values = F.pad(values[:, 1:], (0, 1))
            delta = (rewards + s.gamma * next_values - values) * maskf
            adv = delta @ self.gae_matrix
            returns = adv + values
            # Whitening over every action token of the batch (unbiased std, + 1e-8).
            picked = adv[mask]
            adv = (adv - picked.mean()) / (picked.std() + 1e-8) * maskf
        else:
            # The score alone is the reward; (r − mean) / (unbiased std + 1e-4) over each group of G rows.
            grouped = score.view(-1, s.group)
            a = (grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-4)
            adv = a.reshape(-1, 1) * maskf
            returns = score[:, None] * maskf
        return {"mask": mask, "score": score, "advantages": adv, "returns": returns}

    # -- optimisation ------------------------------------------------------------------------------------

    def loss(self, tokens, maskf, count, old_logp, old_values, adv, returns, ref_logp, recorded=None):
        """The minibatch's total loss and its metrics; maskf [rows, M] is 1.0 on action tokens, count their number.
        recorded: the response window's logits and values from the rollout's graph (same rows, same weights)."""
        s = self.s
        start = s.prompt_length + 2
        # The positions from the first decision on (the engine's keepFrom): the response window is the first M.
        window = slice(0, s.max_new)
        logits, values = recorded or self.policy.forward(tokens, keep_from=start - 1)
        log_softmax = logits[:, window].log_softmax(-1)
        actions = tokens[:, start : start + s.max_new]
        logp = log_softmax.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        # Zero at masked positions before exp, as the engine (a <pad>'s log-prob is about −1e9, finite, so a
        # product with the mask is enough).
        log_ratio = (logp - old_logp) * maskf
        ratio = log_ratio.exp()
        objective = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - s.clip, 1 + s.clip))
        mean = lambda x: (x * maskf).sum() / count
        report = {}
        if s.algorithm in ("reinforce", "actor-critic"):
            # One plain policy-gradient step: −mean(A·log π), and for actor-critic ½·c_v·mean((V − R)²).
            policy_loss = mean(-adv * logp)
            total = policy_loss
            if s.algorithm == "actor-critic":
                value_loss = 0.5 * mean((values[:, window] - returns) ** 2)
                total = total + s.value_coef * value_loss
                report["loss/value"] = value_loss.detach()
        elif s.algorithm == "ppo":
            policy_loss = mean(objective)
            v = values[:, window]
            delta = v - old_values
            v_clipped = old_values + delta.clamp(-s.value_clip, s.value_clip)
            value_loss = 0.5 * mean(torch.maximum((v - returns) ** 2, (v_clipped - returns) ** 2))
            total = policy_loss + s.value_coef * value_loss
            report["loss/value"] = value_loss.detach()
            with torch.no_grad():
                report["value/clipfrac"] = mean(delta.abs() > s.value_clip)
        else:
            # Per-response mean, then mean over responses ("response" aggregation), β·k3 to the reference.
            weights = maskf / (maskf.sum(1, keepdim=True).clamp(min=1) * tokens.shape[0])
            policy_loss = (objective * weights).sum()
            total = policy_loss
            if s.beta > 0:
                ref_ratio = (ref_logp - logp) * maskf
                total = total + s.beta * ((ref_ratio.exp() - ref_ratio - 1) * weights).sum()
        if s.entropy_coef > 0:
            entropy = -(log_softmax.exp() * log_softmax).sum(-1)
            total = total - s.entropy_coef * mean(entropy)
        with torch.no_grad():
            report["loss/policy"] = policy_loss.detach()
            report["policy/clipfrac"] = mean((ratio - 1).abs() > s.clip)
            report["policy/approx_kl"] = mean(ratio - 1 - log_ratio)
        return total, report

    def optimise(self, r, a):
        s = self.s
        B = s.batch
        maskf = a["mask"].float()
        # The per-row planes a minibatch needs, gathered with one index op: [B, 6, M].
        planes = torch.stack([maskf, r["old_logp"], r["values"], a["advantages"], a["returns"], r["ref_logp"]], 1)
        reported = []
        # REINFORCE and actor-critic take one step on the whole batch, in its order.
        one_step = s.algorithm in ("reinforce", "actor-critic")
        epochs, minibatches = (1, 1) if one_step else (s.epochs, s.minibatches)
        for _ in range(epochs):
            order = torch.arange(B) if one_step else torch.randperm(B, generator=self.gen)
            for i in range(minibatches):
                rows = order[(i * B) // minibatches : ((i + 1) * B) // minibatches]
                m, old_logp, old_values, adv, returns, ref_logp = planes[rows].unbind(1)
                self.opt.zero_grad()
                total, report = self.loss(
                    r["tokens"][rows],
                    m,
                    max(float(m.sum()), 1.0),
                    old_logp,
                    old_values,
                    adv,
                    returns,
                    ref_logp,
                    r.get("recorded") if one_step else None,
                )
                total.backward()
                report["optim/grad_norm"] = self.opt.step()
                report["loss/total"] = total.detach()
                reported.append(report)
        # The update's KL(π_old ‖ π_new) over the vocabulary, on the whole batch with the final weights.
        with torch.inference_mode():
            start = s.prompt_length + 2
            logits, _ = self.policy.forward(r["tokens"], keep_from=start - 1)
            new = logits[:, : s.max_new].log_softmax(-1)
            old = r["log_softmax"]
            per_token = (old.exp() * (old - new)).sum(-1)
            update_kl = (per_token * maskf).sum() / maskf.sum().clamp(min=1)
            # The step's metrics, averaged and read back once.
            names = list(reported[0])
            means = torch.stack([torch.stack([rep[k] for rep in reported]) for k in names]).mean(1).tolist()
        metrics = dict(zip(names, means))
        metrics["policy/update_kl"] = float(update_kl)
        return metrics

    def update(self):
        started = time.perf_counter()
        r = self.rollout()
        rolled_out = time.perf_counter()
        a = self.advantages(r)
        metrics = self.optimise(r, a)
        metrics["reward/score"] = float(a["score"].mean())
        finished = time.perf_counter()
        return (finished - started) * 1000, (rolled_out - started) * 1000, (finished - rolled_out) * 1000, metrics


def median(xs):
    return sorted(xs)[len(xs) // 2]  # the same (upper) median as bench/node.ts


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    s = Settings(args)
    if s.group < 1 or s.batch % s.group or (s.algorithm == "grpo" and s.group < 2):
        sys.exit("--batch must be a multiple of --group, and grpo needs --group 2 or more")
    if s.d < 1 or s.heads < 1 or s.d % s.heads or s.layers < 1 or s.alphabet < 2 or s.sft_steps < 0:
        sys.exit("--d-model must be a positive multiple of --heads, --layers ≥ 1, --alphabet ≥ 2, --sft-steps ≥ 0")
    if s.epochs < 1 or s.minibatches < 1 or s.minibatches > s.batch:
        sys.exit("--epochs ≥ 1 and 1 ≤ --minibatches ≤ --batch")
    trainer = Trainer(s, args)
    if args.learn:
        window = []
        for u in range(1, args.learn + 1):
            window.append(trainer.update()[3]["reward/score"])
            if u % 10 == 0:
                print(f"update {u}: mean score {sum(window) / len(window):.3f}", flush=True)
                window = []
        return
    for _ in range(args.warmup):
        trainer.update()
    times = [trainer.update()[:3] for _ in range(args.updates)]
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "updateMs": median([t[0] for t in times]),
                "rolloutMs": median([t[1] for t in times]),
                "optimizeMs": median([t[2] for t in times]),
                "settings": s.engine_names(),
            }
        )
    )


if __name__ == "__main__":
    main()
