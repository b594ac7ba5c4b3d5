"""Can torchrl train the unchanged M-RMS network with its hybrid action? (why ppo.py is hand-written)

Both sides train `MRMSModel` (28,745 parameters, unchanged) plus a 2-value log-std on the same
one-step toy task with a known best action (3 contracts, stop 2.0 ATR, R:R 2.0), with the same
hyper-parameters (60 updates of 256 samples, 4 epochs of minibatches of 64, lr 3e-3, clip 0.2,
entropy 0.01), one torch thread each, in the same process:
- torchrl: a CompositeDistribution (Categorical x two logit-normal TransformedDistributions)
  in a ProbabilisticTensorDictSequential, trained by ClipPPOLoss + GAE;
- algospace.training.ppo: the hand-written PPO.
torchrl is not a dependency of algospace: `pip install torchrl` to run this.

    python benchmarks/mrms_ppo_torchrl_check.py
"""

from __future__ import annotations

import time

import torch
import torch.nn as nn
from torch import distributions as D

from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.training.ppo import HybridPolicy, PPOConfig, Rollout, act, ppo_update

ITERS, N, BEST = 60, 256, (3.0, 2.0, 2.0)


def reward(size: torch.Tensor, stop: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
    return -(size.float() - BEST[0]).abs() * 0.3 - (stop - BEST[1]).abs() - (rr - BEST[2]).abs() * 0.5


def judge(model: MRMSModel) -> tuple[float, float, float]:
    model.eval()
    with torch.no_grad():
        o = model(torch.randn(200, 30), torch.rand(200, 10))
    return o.position_logits.argmax(-1).float().mean().item(), o.stop_multiplier.mean().item(), o.reward_risk.mean().item()


def run_algospace() -> tuple[float, tuple[float, float, float]]:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    policy = HybridPolicy(MRMSModel(MRMSConfig()))
    cfg = PPOConfig(lr=3e-3, minibatch=64, epochs=4, entropy_coef=0.01, gamma=1.0, target_kl=None)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    t0 = time.perf_counter()
    for _ in range(ITERS):
        syn, acc = torch.randn(N, 30), torch.rand(N, 10)
        a, lp, v = act(policy, syn, acc, gen)
        r = reward(a.size, a.stop_multiplier, a.reward_risk)
        roll = Rollout(syn[None], acc[None], a.size[None], a.z[None], lp[None], v[None], r[None], torch.ones(1, N), torch.zeros(N))
        ppo_update(policy, opt, roll, cfg, gen)
    return time.perf_counter() - t0, judge(policy.model)


def run_torchrl() -> tuple[float, tuple[float, float, float]]:
    from tensordict import TensorDict
    from tensordict.nn import CompositeDistribution, ProbabilisticTensorDictModule, ProbabilisticTensorDictSequential, TensorDictModule
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    torch.manual_seed(0)
    model = MRMSModel(MRMSConfig())
    log_std = nn.Parameter(torch.full((2,), -0.5))

    def logit_normal(low: float, high: float) -> type:
        class LogitNormal(D.TransformedDistribution):
            def __init__(self, median: torch.Tensor, scale: torch.Tensor) -> None:
                u = torch.logit(((median - low) / (high - low)).clamp(1e-6, 1 - 1e-6))
                super().__init__(D.Normal(u, scale), [D.SigmoidTransform(), D.AffineTransform(low, high - low)])

            @property
            def deterministic_sample(self) -> torch.Tensor:
                return self.transforms[1](self.transforms[0](self.base_dist.loc))
        return LogitNormal

    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m, self.log_std = model, log_std

        def forward(self, syn: torch.Tensor, acc: torch.Tensor):
            o = self.m(syn, acc)
            s = self.log_std.exp().expand(len(syn), 2)
            return o.position_logits, o.stop_multiplier, s[:, 0], o.reward_risk, s[:, 1]

    class Value(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, syn: torch.Tensor, acc: torch.Tensor) -> torch.Tensor:
            return self.m(syn, acc).value.unsqueeze(-1)

    heads = TensorDictModule(Heads(), in_keys=["synergy", "account"], out_keys=[
        ("params", "size", "logits"), ("params", "stop", "median"), ("params", "stop", "scale"),
        ("params", "rr", "median"), ("params", "rr", "scale")])
    prob = ProbabilisticTensorDictModule(
        in_keys=["params"], out_keys=["size", "stop", "rr"], distribution_class=CompositeDistribution,
        distribution_kwargs={"distribution_map": {"size": D.Categorical, "stop": logit_normal(0.5, 3.0), "rr": logit_normal(1.0, 5.0)},
                             "name_map": {"size": "size", "stop": "stop", "rr": "rr"}},
        return_log_prob=True)
    actor = ProbabilisticTensorDictSequential(heads, prob)
    critic = TensorDictModule(Value(), in_keys=["synergy", "account"], out_keys=["state_value"])
    loss = ClipPPOLoss(actor, critic, entropy_coeff=0.01, clip_epsilon=0.2)
    adv = GAE(gamma=1.0, lmbda=0.95, value_network=critic, average_gae=True)
    opt = torch.optim.Adam(list(model.parameters()) + [log_std], lr=3e-3)
    t0 = time.perf_counter()
    for _ in range(ITERS):
        syn, acc = torch.randn(N, 30), torch.rand(N, 10)
        td = TensorDict({"synergy": syn, "account": acc}, batch_size=[N])
        with torch.no_grad():
            model.eval()
            td = actor(td)
        r = reward(td["size"], td["stop"], td["rr"])
        ones = torch.ones(N, 1, dtype=torch.bool)
        td["next"] = TensorDict({"synergy": syn, "account": acc, "reward": r.unsqueeze(-1), "done": ones, "terminated": ones}, batch_size=[N])
        with torch.no_grad():
            adv(td)
        for _ in range(4):
            for idx in torch.randperm(N).split(64):
                parts = loss(td[idx])
                total = parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]
                opt.zero_grad()
                total.backward()
                opt.step()
    return time.perf_counter() - t0, judge(model)


def main() -> None:
    torch.set_num_threads(1)
    rows = [("algospace.training.ppo", *run_algospace())]
    try:
        rows.append(("torchrl ClipPPOLoss", *run_torchrl()))
    except ImportError as exc:
        print(f"torchrl not installed ({exc}); only the hand-written PPO ran")
    print(f"best action: size {BEST[0]:.0f}, stop {BEST[1]:.2f}, R:R {BEST[2]:.2f}; {ITERS} updates of {N} samples")
    print(f"{'trainer':24s} {'seconds':>8s} {'size':>6s} {'stop':>6s} {'R:R':>6s}  time ratio")
    base = rows[0][1]
    for name, secs, (size, stop, rr) in rows:
        print(f"{name:24s} {secs:8.1f} {size:6.2f} {stop:6.2f} {rr:6.2f}  {secs / base:.2f}x")


if __name__ == "__main__":
    main()
