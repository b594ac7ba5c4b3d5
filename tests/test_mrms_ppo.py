"""The hand-written hybrid PPO learns a known best action on a toy gymnasium task (seconds)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.training.ppo import HybridPolicy, PPOConfig, collect_gym, gae, ppo_update


class ToyRiskEnv(gym.Env):
    """One step per episode. Best action: 4 contracts when obs[0] > 0 else 1; stop 2.0; R:R 2.5."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-3.0, 3.0, (40,), np.float32)
        self.action_space = gym.spaces.Dict({
            "size": gym.spaces.Discrete(6),
            "stop_multiplier": gym.spaces.Box(0.5, 3.0, (), np.float32),
            "reward_risk": gym.spaces.Box(1.0, 5.0, (), np.float32),
        })

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._obs = self.np_random.normal(size=40).clip(-3, 3).astype(np.float32)
        return self._obs, {}

    def best_size(self, obs) -> int:
        return 4 if obs[0] > 0 else 1

    def step(self, action):
        size = int(action["size"])
        r = -0.5 * abs(size - self.best_size(self._obs)) - abs(float(action["stop_multiplier"]) - 2.0) \
            - 0.5 * abs(float(action["reward_risk"]) - 2.5)
        return self._obs, r, True, False, {}


def test_gae_matches_a_hand_computation():
    reward = torch.tensor([[1.0], [2.0], [3.0]])
    value = torch.tensor([[0.5], [0.5], [0.5]])
    done = torch.tensor([[0.0], [1.0], [0.0]])
    adv, ret = gae(reward, value, done, torch.tensor([4.0]), gamma=0.9, lam=0.8)
    d2 = 3.0 + 0.9 * 4.0 - 0.5  # last step bootstraps from last_value
    d1 = 2.0 - 0.5  # episode ended: no bootstrap, no carry
    d0 = 1.0 + 0.9 * 0.5 - 0.5
    torch.testing.assert_close(adv, torch.tensor([[d0 + 0.9 * 0.8 * d1], [d1], [d2]]))
    torch.testing.assert_close(ret, adv + value)


def test_policy_keeps_the_reference_network_unchanged():
    model = MRMSModel(MRMSConfig())
    policy = HybridPolicy(model)
    assert sum(p.numel() for p in model.parameters()) == 28_745
    assert sum(p.numel() for p in policy.parameters()) == 28_745 + 2  # + log_std only
    dist, _ = policy(torch.randn(8, 30), torch.rand(8, 10))
    out = model.eval()(torch.randn(1, 30), torch.rand(1, 10))
    mode = dist.mode()
    assert ((mode.stop_multiplier >= 0.5) & (mode.stop_multiplier <= 3.0)).all()
    s = dist.sample(torch.Generator().manual_seed(0))
    assert ((s.reward_risk >= 1.0) & (s.reward_risk <= 5.0)).all() and s.size.max() <= 5
    del out


@pytest.fixture
def one_thread():
    """Small batches: one torch thread is faster on a shared machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", [0, 1])
def test_ppo_learns_the_best_hybrid_action_on_a_toy_env(one_thread, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    envs = gym.vector.SyncVectorEnv([ToyRiskEnv for _ in range(64)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=seed)
    policy = HybridPolicy(MRMSModel(MRMSConfig()))
    cfg = PPOConfig(lr=2e-3, minibatch=128, epochs=4, entropy_coef=0.0, gamma=0.0, target_kl=None)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    first = None
    for _ in range(25):
        roll, obs, returns = collect_gym(envs, policy, obs, 4, gen)
        first = first if first is not None else float(np.mean(returns))
        ppo_update(policy, opt, roll, cfg, gen)
    # Judge the deterministic policy on fresh states.
    test = ToyRiskEnv()
    states = np.stack([test.reset(seed=1000 + i)[0] for i in range(200)])
    with torch.no_grad():
        dist, _ = policy.eval()(torch.from_numpy(states[:, :30]), torch.from_numpy(states[:, 30:]))
    mode = dist.mode()
    best = np.array([test.best_size(s) for s in states])
    size_acc = float((mode.size.numpy() == best).mean())
    assert size_acc >= 0.9, size_acc
    assert abs(mode.stop_multiplier.mean().item() - 2.0) < 0.25, mode.stop_multiplier.mean()
    assert abs(mode.reward_risk.mean().item() - 2.5) < 0.4, mode.reward_risk.mean()
    assert float(np.mean(returns)) > first + 1.0
