"""A Gymnasium environment for the risk manager: one step per trade signal.

- Observation: Box(40,) float32 = the signal's 30-value synergy vector (`synergy_vector`)
  followed by the 10-value account vector (`account_vector`), the M-RMS input order.
- Action: Tuple(Discrete(max_contracts + 1), Box(2,)): contracts 0..max_contracts, then
  [stop multiplier of the 5-minute ATR in [0.5, 3.0], reward:risk in [1.0, 5.0]]. Continuous
  values outside the box are clipped to it (Gaussian policies sample outside any bound).
  A dict {"size", "stop_mult", "reward_risk"} is accepted too.
- Step: the trade is simulated (`algospace.sim.fills`) through the account (`TradeReplay`);
  the next observation is the next signal the account can act on.
- Episode: starts with a fresh account at a random signal (or `options={"start": row}`); ends
  (terminated) on a rule breach (`EnvConfig.end_on`), or is truncated after
  `episode_signals` steps or when the signals run out.
- info: "signal" is the SignalSet row of the returned observation (-1 at the end), "acted" the
  row just traded, then its size, reason, net_usd, r_multiple, stop/target ticks, breaches,
  balance; `env.last_step` holds the full `Step`.
- Reward: `reward_fn(step, env)` when given (the training code owns its formula), else the
  default net P&L / `reward_scale_usd` - `breach_penalty` per breach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pydantic import Field

from algospace.errors import InputError
from algospace.signals import SignalSet
from algospace.sim.config import AccountConfig, _Config
from algospace.sim.fills import REASONS, REWARD_RISK_RANGE, STOP_MULT_RANGE
from algospace.sim.paths import TradePaths
from algospace.sim.replay import OBS_SIZE, Step, TradeReplay


class EnvConfig(_Config):
    """Episode and default-reward settings of TradingEnv."""

    episode_signals: int = Field(20, ge=1)  # steps (decisions) per episode; the original used 20 trades
    end_on: Literal["any_breach", "max_loss"] = "any_breach"  # which breach terminates an episode
    reward_scale_usd: float = Field(1_000.0, gt=0)
    breach_penalty: float = Field(1.0, ge=0)
    account: AccountConfig = AccountConfig()


RewardFn = Callable[[Step, "TradingEnv"], float]


def default_reward(step: Step, env: TradingEnv) -> float:
    """net P&L / reward_scale_usd - breach_penalty x breaches (a plain, documented default)."""
    c = env.config
    return float(step.outcome.net_usd[0]) / c.reward_scale_usd - c.breach_penalty * len(step.breaches)


class TradingEnv(gym.Env):
    """Gymnasium environment over precomputed trade paths; `rows` restricts it to a split.

    Example::

        env = TradingEnv(paths, sigs, rows=np.flatnonzero(sigs.times < "2019-01-01"))
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step((1, np.array([2.0, 2.0])))
    """

    metadata = {"render_modes": []}

    def __init__(self, paths: TradePaths, signals: SignalSet, config: EnvConfig | None = None,
                 rows: np.ndarray | None = None, reward_fn: RewardFn | None = None) -> None:
        super().__init__()
        self.config = config or EnvConfig()
        self.paths, self.signals = paths, signals
        self.rows = np.arange(len(paths)) if rows is None else np.asarray(rows, dtype=np.int64)
        usable = self.rows[paths.valid[self.rows]]
        if len(usable) == 0:
            raise InputError("TradingEnv: none of the given signal rows has an entry bar; check the rows / split.")
        self._starts = usable
        self.reward_fn = reward_fn or default_reward
        n_sizes = self.config.account.max_contracts + 1
        lo = np.array([STOP_MULT_RANGE[0], REWARD_RISK_RANGE[0]], dtype=np.float32)
        hi = np.array([STOP_MULT_RANGE[1], REWARD_RISK_RANGE[1]], dtype=np.float32)
        self.action_space = spaces.Tuple((spaces.Discrete(n_sizes), spaces.Box(lo, hi, shape=(2,), dtype=np.float32)))
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(OBS_SIZE,), dtype=np.float32)
        self._lo, self._hi = lo.astype(np.float64), hi.astype(np.float64)
        self.replay: TradeReplay | None = None
        self._steps = 0
        self._last_obs = np.zeros(OBS_SIZE, dtype=np.float32)
        self.last_step: Step | None = None

    @property
    def account(self):
        """The episode's PropFirmAccount."""
        if self.replay is None:
            raise InputError("TradingEnv: call reset() first.")
        return self.replay.account

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        opts = options or {}
        if "start" in opts:
            start = int(opts["start"])
            if start not in set(self.rows.tolist()):
                raise InputError(f"TradingEnv.reset: start row {start} is not among the environment's rows.")
        else:
            start = int(self._starts[self.np_random.integers(len(self._starts))])
        k = int(np.searchsorted(self.rows, start)) if np.all(np.diff(self.rows) >= 0) else int(np.flatnonzero(self.rows == start)[0])
        self.replay = TradeReplay(self.paths, self.signals, self.config.account, self.rows[k:])
        self._steps = 0
        i = self.replay.next_signal()
        if i is None:
            raise InputError(f"TradingEnv.reset: no tradable signal from row {start} on.")
        self._last_obs = self.replay.observation()
        return self._last_obs, {"signal": i}

    def _parse(self, action: Any) -> tuple[int, float, float]:
        if isinstance(action, dict):
            size, cont = action.get("size"), [action.get("stop_mult"), action.get("reward_risk")]
        else:
            try:
                size, cont = action
            except (TypeError, ValueError) as exc:
                raise InputError(f"TradingEnv.step: action must be (size, [stop_mult, reward_risk]); received {action!r}.") from exc
        c = np.asarray(cont, dtype=np.float64).reshape(-1)
        if c.shape != (2,) or not np.all(np.isfinite(c)):
            raise InputError(f"TradingEnv.step: the continuous action must be 2 finite values; received {cont!r}.")
        s = int(np.asarray(size).reshape(()))
        if not 0 <= s < self.action_space[0].n:
            raise InputError(f"TradingEnv.step: size must be in 0..{self.action_space[0].n - 1}; received {size!r}.")
        c = np.clip(c, self._lo, self._hi)
        return s, float(c[0]), float(c[1])

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.replay is None or self.replay.current is None:
            raise InputError("TradingEnv.step: the episode is over or not started; call reset().")
        size, stop_mult, rr = self._parse(action)
        step = self.replay.act(size, stop_mult, rr)
        self._steps += 1
        reward = float(self.reward_fn(step, self))
        acct = self.replay.account
        kinds = {b.kind for b in step.breaches}
        terminated = acct.failed or (self.config.end_on == "any_breach" and bool(kinds))
        truncated = False
        if not terminated:
            if self._steps >= self.config.episode_signals or self.replay.next_signal() is None:
                truncated = True
        if terminated or truncated:
            self._last_obs = np.concatenate([self._last_obs[:30], acct.vector()]).astype(np.float32)
            self.replay.current = None
        else:
            self._last_obs = self.replay.observation()
        o = step.outcome
        nxt = self.replay.current
        info = {
            "signal": -1 if nxt is None else int(nxt), "acted": int(o.signal[0]), "size": int(o.size[0]), "reason": REASONS[int(o.reason[0])],
            "net_usd": float(o.net_usd[0]), "r_multiple": float(o.r_multiple[0]), "stop_ticks": int(o.stop_ticks[0]),
            "target_ticks": int(o.target_ticks[0]), "breaches": [b.kind for b in step.breaches], "balance": acct.balance,
        }
        self.last_step = step  # the full Step (outcome arrays, account vector before the trade)
        return self._last_obs, reward, terminated, truncated, info
