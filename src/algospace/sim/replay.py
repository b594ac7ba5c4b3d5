"""Signals traded one at a time through a prop-firm account: the loop the environment and every
backtest share, so a policy is judged exactly as it was trained.

Rules of the replay: one position at a time (a signal whose entry comes before the open trade's
exit is skipped); a signal on a day the account has locked (daily loss limit) is skipped; the
account's room is passed to the simulator as the firm's liquidation level; sizes above the
account's `max_contracts` are cut to it. A trade refused for lack of room locks the day (daily
room) or ends the account as 'exhausted' (max-loss room): it could never trade again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from algospace.errors import InputError
from algospace.signals import SignalSet
from algospace.sim.account import Breach, PropFirmAccount
from algospace.sim.config import AccountConfig
from algospace.sim.fills import LIMIT, NO_ROOM, TradeOutcomes, simulate, simulate_one
from algospace.sim.paths import TradePaths

OBS_SIZE = 40  # 30 synergy values then 10 account values, the M-RMS input order


@dataclass(frozen=True)
class Step:
    """The result of acting on one signal: its outcome (a 1-row TradeOutcomes) and the breaches it caused."""

    outcome: TradeOutcomes
    breaches: tuple[Breach, ...]
    account_before: np.ndarray  # (10,) account vector the decision saw
    balance: float  # account balance after the trade


def observation(signals: SignalSet, row: int, account: PropFirmAccount) -> np.ndarray:
    """(40,) float32: signals.vectors[row] (synergy_vector) followed by account.vector() (account_vector)."""
    return np.concatenate([signals.vectors[row], account.vector()]).astype(np.float32)


class TradeReplay:
    """Walk `rows` of a SignalSet (default: all, in time order) through one PropFirmAccount.

    Use: `i = replay.next_signal()` (None when done), `replay.observation()`, then
    `replay.act(size, stop_mult, reward_risk)`; repeat.
    """

    def __init__(self, paths: TradePaths, signals: SignalSet, account: AccountConfig | PropFirmAccount | None = None,
                 rows: np.ndarray | None = None) -> None:
        if len(paths) != len(signals):
            raise InputError(f"TradeReplay: paths ({len(paths)}) and signals ({len(signals)}) must come from the same SignalSet.")
        self.paths, self.signals = paths, signals
        self.account = account if isinstance(account, PropFirmAccount) else PropFirmAccount(account or AccountConfig())
        self.rows = np.arange(len(paths)) if rows is None else np.asarray(rows, dtype=np.int64)
        self._entry_ns = paths.entry_time_ns
        self._k = 0
        self._busy_until = np.iinfo(np.int64).min
        self.current: int | None = None

    def next_signal(self) -> int | None:
        """Advance to the next signal the account can act on (rolling the trading day); None at the end."""
        p, acct = self.paths, self.account
        if acct.failed:  # the account is over; the rows left stay for a new account (backtest)
            self.current = None
            return None
        while self._k < len(self.rows):
            i = int(self.rows[self._k])
            self._k += 1
            if not p.valid[i] or self._entry_ns[i] < self._busy_until:
                continue
            acct.start_day(int(p.day[i]))
            if acct.can_trade:
                self.current = i
                return i
        self.current = None
        return None

    def observation(self) -> np.ndarray:
        if self.current is None:
            raise InputError("TradeReplay.observation: no current signal; call next_signal() first.")
        return observation(self.signals, self.current, self.account)

    def act(self, size: int, stop_mult: float, reward_risk: float) -> Step:
        """Trade the current signal; a size of 0 records nothing in the account."""
        i = self._current("act")
        before = self.account.vector()
        out = simulate_one(self.paths, i, self.clip_size(size), float(stop_mult), float(reward_risk),
                           loss_limit_usd=self.account.room().usd)
        return self._apply(out, before)

    def clip_size(self, size: int) -> int:
        """The size the account allows: 0..max_contracts."""
        return int(min(max(int(size), 0), self.account.config.max_contracts))

    def _current(self, who: str) -> int:
        if self.current is None:
            raise InputError(f"TradeReplay.{who}: no current signal; call next_signal() first.")
        return self.current

    def _apply(self, out: TradeOutcomes, before: np.ndarray) -> Step:
        """Book a 1-row outcome of the current signal in the account (the one place that does)."""
        breaches: list[Breach] = []
        if out.reason[0] == NO_ROOM:
            if self.account.room().binding == "max_loss":
                breaches.append(self.account.end("exhausted"))
            else:
                self.account.lock_day()
        elif out.size[0] > 0:
            self._busy_until = int(out.exit_time_ns[0])
            breaches = self.account.record(float(out.net_usd[0]), float(out.r_multiple[0]), int(out.day[0]),
                                           liquidated=bool(out.reason[0] == LIMIT))
        self.current = None
        return Step(out, tuple(breaches), before, self.account.balance)


def act_many(replays: Sequence[TradeReplay], size, stop_mult, reward_risk) -> list[Step]:
    """`replay.act(size[k], stop_mult[k], reward_risk[k])` for every replay at once: one vectorised
    `simulate` call per shared TradePaths, then each outcome is booked exactly as `act` books it.

    For many parallel episodes (PPO rollouts). Every replay must have a current signal.
    """
    n = len(replays)
    size, stop_mult, reward_risk = (np.broadcast_to(np.asarray(a), (n,)) for a in (size, stop_mult, reward_risk))
    steps: list[Step | None] = [None] * n
    groups: dict[int, list[int]] = {}
    for k, r in enumerate(replays):
        groups.setdefault(id(r.paths), []).append(k)
    for ks in groups.values():
        paths = replays[ks[0]].paths
        rows = np.array([replays[k]._current("act_many") for k in ks], dtype=np.int64)
        qty = np.array([replays[k].clip_size(size[k]) for k in ks], dtype=np.int64)
        room = np.array([replays[k].account.room().usd for k in ks], dtype=np.float64)
        before = [replays[k].account.vector() for k in ks]
        out = simulate(paths, rows, qty, stop_mult[ks].astype(np.float64), reward_risk[ks].astype(np.float64), loss_limit_usd=room)
        for j, k in enumerate(ks):
            steps[k] = replays[k]._apply(out.take([j]), before[j])
    return steps  # type: ignore[return-value]


Policy = Callable[[np.ndarray, int], tuple[int, float, float]]


@dataclass
class BacktestResult:
    """Every decision of a backtest (`outcomes`, one row per signal acted on, size 0 included),
    the breaches, and the accounts used (a failed account is replaced by a fresh one next day)."""

    outcomes: TradeOutcomes
    breaches: list[Breach]
    accounts: list[PropFirmAccount]
    days: np.ndarray  # int64 every trading day of the period (session open ns): days with signals
    proxy: str = ""
    starting_balance: float = 50_000.0
    observations: np.ndarray = field(default_factory=lambda: np.zeros((0, OBS_SIZE), dtype=np.float32))


def backtest(paths: TradePaths, signals: SignalSet, policy: Policy, account: AccountConfig | None = None,
             rows: np.ndarray | None = None, *, reset_on_fail: bool = True, keep_observations: bool = False) -> BacktestResult:
    """Run `policy(observation (40,), signal_row) -> (size, stop_mult, reward_risk)` over `rows`
    (default all signals) through the account rules. After a max-loss breach a fresh account
    starts on the next day when `reset_on_fail`, else the backtest stops.

    Example: `backtest(paths, sigs, lambda obs, i: (1, 2.0, 2.0))` is fixed 1 contract, 2 ATR, 2R.
    """
    cfg = account or AccountConfig()
    rows = np.arange(len(paths)) if rows is None else np.asarray(rows, dtype=np.int64)
    replay = TradeReplay(paths, signals, cfg, rows)
    accounts = [replay.account]
    parts: list[TradeOutcomes] = []
    obs: list[np.ndarray] = []
    breaches: list[Breach] = []
    while True:
        i = replay.next_signal()
        if i is None:
            if not (replay.account.failed and reset_on_fail and replay._k < len(rows)):
                break
            failed_day = replay.account.day
            while replay._k < len(rows) and paths.day[rows[replay._k]] == failed_day:
                replay._k += 1  # the failed day is over: the new account starts on the next day
            fresh = PropFirmAccount(cfg)
            replay.account = fresh
            accounts.append(fresh)
            continue
        o = replay.observation()
        size, stop_mult, rr = policy(o, i)
        step = replay.act(size, stop_mult, rr)
        parts.append(step.outcome)
        breaches.extend(step.breaches)
        if keep_observations:
            obs.append(o)
    days = np.unique(paths.day[rows]) if len(rows) else np.zeros(0, dtype=np.int64)
    return BacktestResult(
        outcomes=concat_outcomes(parts), breaches=breaches, accounts=accounts, days=days, proxy=signals.proxy,
        starting_balance=cfg.starting_balance,
        observations=np.stack(obs) if obs else np.zeros((0, OBS_SIZE), dtype=np.float32),
    )


def concat_outcomes(parts: list[TradeOutcomes]) -> TradeOutcomes:
    """Several TradeOutcomes as one (row order kept)."""
    names = [f.name for f in fields(TradeOutcomes)]
    if not parts:
        empty = {n: np.zeros(0, dtype=np.int64 if n in ("signal", "size", "stop_ticks", "target_ticks", "bars_held", "exit_time_ns", "day")
                           else np.int8 if n == "reason" else np.float64) for n in names}
        return TradeOutcomes(**empty)
    return TradeOutcomes(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})
