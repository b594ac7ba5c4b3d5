"""A small PPO for the M-RMS's hybrid action: categorical size x logit-normal stop and R:R.

Why hand-written (checked 2026-11-30 against the libraries installable here):
- Stable-Baselines3 2.9 / sb3-contrib 2.9 build their action distribution from the action
  space and support only Box, Discrete, MultiDiscrete and MultiBinary: a categorical size
  together with two bounded continuous values (a Tuple/Dict space) has no distribution
  there, and faking it as one Box would change what the size head means.
- torchrl 0.14.1 (with tensordict 0.14.3) can express the action (a CompositeDistribution
  of a Categorical and two transformed Normals, trained by ClipPPOLoss + GAE). We built
  exactly that around the unchanged `MRMSModel` (`benchmarks/mrms_ppo_torchrl_check.py`) on
  a toy task whose best action is known (3 contracts, stop 2.0, R:R 2.0), with the same
  hyper-parameters as this module: after 60 updates it had the size but its stop multiplier
  had moved AWAY from the best value (1.10; R:R 3.12), while this module reached 3 / 2.00 /
  1.98, and it took 2-4x the time (15.3 s vs 4.0 s, one thread, shared 2-core machine).
  We did not find why within a time box; with five extra packages for ~200 lines of
  well-known maths, we wrote it:
  clipped surrogate, GAE(lambda), clipped value loss, entropy bonus, gradient clipping,
  minibatch epochs, a KL early stop (the PPO paper and the "37 implementation details"
  checklist of Huang et al., 2022).

The policy is the reference network UNCHANGED (`MRMSModel`, 28,745 parameters). Training
adds one thing outside it: `HybridPolicy.log_std` (2 values), the log standard deviation of
the Gaussians in logit space around the two bounded heads. Each bounded head outputs the
*median* of its action: with u = logit((y - low) / (high - low)) for head output y, the
action is low + (high - low) * sigmoid(u + std * eps), which stays inside [low, high] and
equals the head's output when eps = 0. Inference (`RiskManager`) uses the medians and the
arg-max size, so the trained `log_std` is not needed there and is not part of the artifact
(it is recorded in the training metrics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn

from algospace.models.mrms import MRMSModel

_EPS = 1e-6  # keeps logit() finite when a sigmoid head saturates


class HybridAction(NamedTuple):
    size: torch.Tensor  # (B,) int64 in 0..n_sizes-1
    stop_multiplier: torch.Tensor  # (B,) in [stop_min, stop_max]
    reward_risk: torch.Tensor  # (B,) in [rr_min, rr_max]
    z: torch.Tensor  # (B, 2) the pre-squash Gaussian samples (what log-probs are computed on)


class HybridDistribution:
    """Categorical(size) x Normal(z_stop) x Normal(z_rr); z squashed into the bounded ranges."""

    def __init__(self, logits: torch.Tensor, loc: torch.Tensor, log_std: torch.Tensor, bounds: torch.Tensor) -> None:
        self.logits = logits - logits.logsumexp(-1, keepdim=True)  # (B, n_sizes) normalised
        self.loc = loc  # (B, 2) logit-space medians
        self.log_std = log_std.expand_as(loc)  # (B, 2)
        self.bounds = bounds  # (2, 2): rows (low, high) for stop and R:R

    def sample(self, generator: torch.Generator | None = None) -> HybridAction:
        size = torch.multinomial(self.logits.exp(), 1, generator=generator).squeeze(-1)  # (B,)
        noise = torch.randn(self.loc.shape, generator=generator, dtype=self.loc.dtype)  # (B, 2)
        return self._action(size, self.loc + self.log_std.exp() * noise.to(self.loc.device))

    def mode(self) -> HybridAction:
        """The deterministic action: arg-max size and the heads' own outputs (the medians)."""
        return self._action(self.logits.argmax(-1), self.loc)

    def _action(self, size: torch.Tensor, z: torch.Tensor) -> HybridAction:
        low, high = self.bounds[:, 0], self.bounds[:, 1]
        y = low + (high - low) * torch.sigmoid(z)  # (B, 2)
        return HybridAction(size, y[:, 0], y[:, 1], z)

    def log_prob(self, size: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(size) + log N(z): the squash's Jacobian does not depend on the parameters, so
        it cancels in PPO's probability ratio and is left out."""
        lp_size = self.logits.gather(-1, size.unsqueeze(-1)).squeeze(-1)  # (B,)
        var = (2 * self.log_std).exp()
        lp_z = -((z - self.loc) ** 2) / (2 * var) - self.log_std - 0.5 * math.log(2 * math.pi)  # (B, 2)
        return lp_size + lp_z.sum(-1)

    def entropy(self) -> torch.Tensor:
        """Categorical entropy + the Gaussians' entropy in logit space (closed form)."""
        h_size = -(self.logits.exp() * self.logits).sum(-1)  # (B,)
        h_z = (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std).sum(-1)  # (B,)
        return h_size + h_z


class HybridPolicy(nn.Module):
    """The unchanged MRMSModel plus the trainable log-std of its two bounded heads."""

    def __init__(self, model: MRMSModel, init_log_std: float = -0.5) -> None:
        super().__init__()
        self.model = model
        self.log_std = nn.Parameter(torch.full((2,), float(init_log_std)))  # not part of the 28,745
        c = model.config
        self.register_buffer(
            "bounds",
            torch.tensor([[c.stop_multiplier_min, c.stop_multiplier_max], [c.reward_risk_min, c.reward_risk_max]]),
            persistent=False,
        )

    def forward(self, synergy: torch.Tensor, account: torch.Tensor) -> tuple[HybridDistribution, torch.Tensor]:
        """synergy (B, 30), account (B, 10) -> (action distribution, state value (B,))."""
        out = self.model(synergy, account)
        y = torch.stack([out.stop_multiplier, out.reward_risk], dim=-1)  # (B, 2)
        low, high = self.bounds[:, 0], self.bounds[:, 1]
        loc = torch.logit(((y - low) / (high - low)).clamp(_EPS, 1 - _EPS))  # (B, 2)
        return HybridDistribution(out.position_logits, loc, self.log_std, self.bounds), out.value


@dataclass(frozen=True)
class PPOConfig:
    lr: float = 3e-4
    clip: float = 0.2  # the PPO paper's epsilon
    epochs: int = 4  # passes over each rollout
    minibatch: int = 256
    gamma: float = 0.99
    gae_lambda: float = 0.95
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    target_kl: float | None = 0.03  # stop a rollout's epochs early when the policy moved this far
    init_log_std: float = -0.5  # std ~0.6 in logit space: a stop of 1.75 ATR samples roughly 1.1..2.4


class Rollout(NamedTuple):
    """T steps of N parallel episodes; every tensor is (T, N, ...)."""

    synergy: torch.Tensor  # (T, N, 30)
    account: torch.Tensor  # (T, N, 10)
    size: torch.Tensor  # (T, N) int64
    z: torch.Tensor  # (T, N, 2)
    log_prob: torch.Tensor  # (T, N)
    value: torch.Tensor  # (T, N)
    reward: torch.Tensor  # (T, N)
    done: torch.Tensor  # (T, N) float: 1 where the episode ended at this step
    last_value: torch.Tensor  # (N,) value of the state after the last step (0 where done)


def gae(reward: torch.Tensor, value: torch.Tensor, done: torch.Tensor, last_value: torch.Tensor,
        gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over (T, N) tensors -> (advantages, returns)."""
    adv = torch.zeros_like(reward)
    running = torch.zeros_like(last_value)
    next_value = last_value
    for t in range(reward.shape[0] - 1, -1, -1):
        alive = 1.0 - done[t]
        delta = reward[t] + gamma * next_value * alive - value[t]
        running = delta + gamma * lam * alive * running
        adv[t] = running
        next_value = value[t]
    return adv, adv + value


def ppo_update(policy: HybridPolicy, opt: torch.optim.Optimizer, roll: Rollout, cfg: PPOConfig,
               generator: torch.Generator) -> dict[str, float]:
    """Clipped-surrogate PPO epochs over one rollout; returns the mean losses and the KL reached."""
    adv, ret = gae(roll.reward, roll.value, roll.done, roll.last_value, cfg.gamma, cfg.gae_lambda)
    flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731  (T, N, ...) -> (T*N, ...)
    syn, acc, size, z = flat(roll.synergy), flat(roll.account), flat(roll.size), flat(roll.z)
    old_lp, old_v, adv, ret = flat(roll.log_prob), flat(roll.value), flat(adv), flat(ret)
    n = len(adv)
    stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "clip_fraction": 0.0}
    updates = 0
    # Dropout stays off while acting and while updating: PPO's ratio compares the same function
    # before and after the step, and dropout noise in it would read as policy change.
    was = policy.training
    policy.eval()
    for _ in range(cfg.epochs):
        order = torch.randperm(n, generator=generator)
        kls = []
        for start in range(0, n, cfg.minibatch):
            i = order[start : start + cfg.minibatch]
            dist, v = policy(syn[i], acc[i])
            lp = dist.log_prob(size[i], z[i])
            a = adv[i]
            a = (a - a.mean()) / (a.std() + 1e-8) if len(a) > 1 else a
            ratio = (lp - old_lp[i]).exp()
            pg = -torch.min(ratio * a, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * a).mean()
            v_clipped = old_v[i] + (v - old_v[i]).clamp(-cfg.clip, cfg.clip)
            v_loss = 0.5 * torch.max((v - ret[i]) ** 2, (v_clipped - ret[i]) ** 2).mean()
            ent = dist.entropy().mean()
            loss = pg + cfg.value_coef * v_loss - cfg.entropy_coef * ent
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
            opt.step()
            with torch.no_grad():
                log_ratio = lp - old_lp[i]
                kl = ((log_ratio.exp() - 1) - log_ratio).mean().item()  # Schulman's low-variance estimator
                kls.append(kl)
                stats["clip_fraction"] += ((ratio - 1).abs() > cfg.clip).float().mean().item()
            stats["policy_loss"] += pg.item()
            stats["value_loss"] += v_loss.item()
            stats["entropy"] += ent.item()
            stats["approx_kl"] += kl
            updates += 1
        if cfg.target_kl is not None and sum(kls) / len(kls) > cfg.target_kl:
            break
    policy.train(was)
    return {k: v / max(1, updates) for k, v in stats.items()}


@torch.no_grad()
def act(policy: HybridPolicy, synergy: torch.Tensor, account: torch.Tensor,
        generator: torch.Generator | None, deterministic: bool = False) -> tuple[HybridAction, torch.Tensor, torch.Tensor]:
    """One batched policy step -> (action, log-prob, value). Eval mode: no dropout (see ppo_update)."""
    was = policy.training
    policy.eval()
    dist, value = policy(synergy, account)
    action = dist.mode() if deterministic else dist.sample(generator)
    lp = dist.log_prob(action.size, action.z)
    policy.train(was)
    return action, lp, value


def collect_gym(envs, policy: HybridPolicy, obs, n_steps: int, generator: torch.Generator,
                action_to_env=None) -> tuple[Rollout, object, list[float]]:
    """Run `n_steps` batched steps in a gymnasium vector env (autoreset mode SAME_STEP).

    obs: the current batched observation, (N, synergy_dim + account_dim). `action_to_env` turns a
    HybridAction (numpy-converted) into the env's batched action (default: a dict with keys
    size, stop_multiplier, reward_risk). Returns the rollout, the next observation and the
    returns of the episodes that ended.
    """
    import numpy as np

    to_env = action_to_env or (lambda a: {"size": a.size.numpy(), "stop_multiplier": a.stop_multiplier.numpy(),
                                          "reward_risk": a.reward_risk.numpy()})
    k = policy.model.config.synergy_dim
    cols: dict[str, list[torch.Tensor]] = {n: [] for n in ("synergy", "account", "size", "z", "log_prob", "value", "reward", "done")}
    ep_ret = getattr(envs, "_algospace_ep_ret", np.zeros(envs.num_envs))
    finished: list[float] = []
    for _ in range(n_steps):
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)  # (N, 40)
        syn, acc = x[:, :k], x[:, k:]
        action, lp, value = act(policy, syn, acc, generator)
        obs, reward, terminated, truncated, _ = envs.step(to_env(action))
        done = np.logical_or(terminated, truncated)
        ep_ret = ep_ret + reward
        finished.extend(ep_ret[done].tolist())
        ep_ret = np.where(done, 0.0, ep_ret)
        for name, v in (("synergy", syn), ("account", acc), ("size", action.size), ("z", action.z), ("log_prob", lp),
                        ("value", value), ("reward", torch.as_tensor(reward, dtype=torch.float32)),
                        ("done", torch.as_tensor(done, dtype=torch.float32))):
            cols[name].append(v)
    envs._algospace_ep_ret = ep_ret
    x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
    _, _, last_value = act(policy, x[:, :k], x[:, k:], generator)
    stacked = {n: torch.stack(v) for n, v in cols.items()}
    # SAME_STEP autoreset: `obs` after a done is the next episode's first state, so the value
    # bootstrapped through it is masked by `done` in gae().
    return Rollout(**stacked, last_value=last_value), obs, finished


__all__ = ["collect_gym", "HybridAction", "HybridDistribution", "HybridPolicy", "PPOConfig", "Rollout", "gae", "ppo_update", "act"]
