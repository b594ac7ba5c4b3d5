"""The prop-firm evaluation account, its room for a proposed trade, and the 10-value account vector.

`account_vector(state)` is the ONE builder of the account vector: the environment, the
training code and the risk engine all call it (directly or through `PropFirmAccount.vector()`),
so training and inference cannot disagree on the layout. Every statistic it reads is kept as a
running sum, so recording a trade costs O(1) whatever the account's history.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from algospace.errors import InputError
from algospace.sim.config import AccountConfig

ACCOUNT_VECTOR_NAMES: tuple[str, ...] = (
    "balance_ratio", "drawdown_used", "daily_loss_used", "target_progress", "win_rate",
    "profit_factor", "sortino", "trades", "win_rate_5", "win_rate_10",
)
ACCOUNT_VECTOR_VERSION = 1  # bump when a value's meaning or scaling changes


@dataclass(frozen=True)
class AccountState:
    """Everything the account vector reads: a snapshot a live system can also fill from its broker.

    Money in USD. `recent_wins` holds 1/0 for the last (up to 10) trades, oldest first.
    `sum_r` and `sum_r2_down` are the sums over all trades of the R multiple and of
    min(R, 0) squared (for the Sortino ratio of the trades).
    """

    balance: float
    starting_balance: float
    floor: float  # balance at or below which the account fails (the trailing max-loss level)
    max_loss: float
    day_pnl: float
    daily_loss_limit: float
    profit_target: float
    trades: int = 0
    wins: int = 0
    gross_profit: float = 0.0
    gross_loss: float = 0.0  # positive number
    sum_r: float = 0.0
    sum_r2_down: float = 0.0
    recent_wins: tuple[int, ...] = ()


def _recent(wins: tuple[int, ...], n: int) -> float:
    last = wins[-n:]
    return float(sum(last)) / len(last) if last else 0.5


def trade_sortino(state: AccountState) -> float:
    """mean(R) / sqrt(mean(min(R, 0)^2)) over the trades; 0 with fewer than 2 trades; +-inf with no losing R."""
    n = state.trades
    if n < 2:
        return 0.0
    mean = state.sum_r / n
    down = math.sqrt(state.sum_r2_down / n)
    if down == 0.0:
        return math.copysign(math.inf, mean) if mean != 0 else 0.0
    return mean / down


def account_vector(state: AccountState) -> np.ndarray:
    """The 10 float32 values (ACCOUNT_VECTOR_NAMES order) the risk model reads about the account.

    | # | name | value | at the start |
    |---|---|---|---|
    | 0 | balance_ratio | balance / starting balance | 1 |
    | 1 | drawdown_used | share of the max-loss room used: 1 - (balance - floor) / max_loss, in [0, 1] | 0 |
    | 2 | daily_loss_used | share of today's loss limit used: max(0, -day P&L) / limit, in [0, 1] | 0 |
    | 3 | target_progress | (balance - start) / profit target, in [-1, 2] | 0 |
    | 4 | win_rate | (wins + 1) / (trades + 2): Laplace-smoothed, 0.5 before any trade | 0.5 |
    | 5 | profit_factor | gross profit / (gross profit + gross loss) = PF / (1 + PF), 0.5 before any trade | 0.5 |
    | 6 | sortino | trade Sortino of R multiples / 3, clipped to [-1, 1]; 0 under 2 trades | 0 |
    | 7 | trades | min(trades / 100, 1) | 0 |
    | 8 | win_rate_5 | share of winners in the last 5 trades (fewer if fewer), 0.5 before any | 0.5 |
    | 9 | win_rate_10 | the same over the last 10 trades | 0.5 |

    A trade is a winner when its net P&L (after commission) is > 0. Bounded values keep the
    network's inputs of order 1 however long the account runs.
    """
    if not isinstance(state, AccountState):
        raise InputError(f"account_vector expects an AccountState (PropFirmAccount.state()); received {type(state).__name__}.")
    s = state
    gp, gl = s.gross_profit, s.gross_loss
    v = [
        s.balance / s.starting_balance,
        min(1.0, max(0.0, 1.0 - (s.balance - s.floor) / s.max_loss)),
        min(1.0, max(0.0, -s.day_pnl / s.daily_loss_limit)),
        min(2.0, max(-1.0, (s.balance - s.starting_balance) / s.profit_target)),
        (s.wins + 1.0) / (s.trades + 2.0),
        gp / (gp + gl) if gp + gl > 0 else 0.5,
        min(1.0, max(-1.0, trade_sortino(s) / 3.0)),
        min(1.0, s.trades / 100.0),
        _recent(s.recent_wins, 5),
        _recent(s.recent_wins, 10),
    ]
    if not all(map(math.isfinite, v)):
        raise InputError(f"account_vector: non-finite values {dict(zip(ACCOUNT_VECTOR_NAMES, v))}; check the account state.")
    return np.array(v, dtype=np.float32)


@dataclass(frozen=True)
class Room:
    """How much loss (USD) the account can still take today and in total before a limit is reached."""

    daily: float  # daily_loss_limit + today's P&L
    max_loss: float  # balance - floor
    trading: bool  # False once the day is locked or the account failed

    @property
    def usd(self) -> float:
        """The binding room: the smaller of the two (0 when not trading)."""
        return max(0.0, min(self.daily, self.max_loss)) if self.trading else 0.0

    @property
    def binding(self) -> str:
        """Which limit binds: 'daily' or 'max_loss'."""
        return "daily" if self.daily <= self.max_loss else "max_loss"


@dataclass(frozen=True)
class Breach:
    """A rule reached: `kind` 'daily_loss' (trading stops that day) or 'max_loss' (the account fails);
    or 'exhausted' (not a rule breach: the account ended because its room cannot cover one tick)."""

    kind: str
    day: int
    balance: float
    trade: int  # trade number (1-based) that reached it


@dataclass
class PropFirmAccount:
    """A prop-firm evaluation account (AccountConfig rules), fed closed trades in time order.

    Call `start_day(day)` before a day's trades (any increasing int or date key; `record` calls
    it too), check `can_trade` and `room()`, then `record(net_usd, r_multiple, day)`.
    Example::

        acct = PropFirmAccount()
        acct.max_size(risk_per_contract=300.0)   # -> 3 (1,000 daily room / 300)
        acct.record(-450.0, r_multiple=-1.5, day=1)
        acct.vector()                            # 10 values, account_vector(acct.state())
    """

    config: AccountConfig = field(default_factory=AccountConfig)

    def __post_init__(self) -> None:
        c = self.config
        self.balance = c.starting_balance
        self.eod_high = c.starting_balance
        self.day: object = None
        self.day_pnl = 0.0
        self.days = 0  # trading days seen
        self.locked_today = False
        self.failed = False
        self.passed = False
        self.days_to_target: int | None = None
        self.trades = 0
        self.wins = 0
        self.gross_profit = 0.0
        self.gross_loss = 0.0
        self.sum_r = 0.0
        self.sum_r2_down = 0.0
        self.recent: deque[int] = deque(maxlen=10)
        self.breaches: list[Breach] = []

    # ---------------------------------------------------------------- rules
    @property
    def floor(self) -> float:
        """The max-loss level: highest end-of-day balance - max_loss, stopping at the start balance."""
        c = self.config
        high = self.eod_high if c.trailing else c.starting_balance
        f = high - c.max_loss
        return min(f, c.starting_balance) if c.lock_at_start else f

    @property
    def can_trade(self) -> bool:
        return not (self.failed or self.locked_today)

    def start_day(self, day: object) -> None:
        """Close the previous day (its end balance may raise the trailing floor) and open `day`."""
        if day == self.day:
            return
        if self.day is not None:
            self.eod_high = max(self.eod_high, self.balance)
        self.day = day
        self.day_pnl = 0.0
        self.locked_today = False
        self.days += 1

    def room(self) -> Room:
        """Loss the account can take before the daily limit and before the max-loss floor."""
        return Room(self.config.daily_loss_limit + self.day_pnl, self.balance - self.floor, self.can_trade)

    def max_size(self, risk_per_contract: float) -> int:
        """Most contracts whose loss at the stop (`risk_per_contract` USD each, costs included) fits the room."""
        if not (math.isfinite(risk_per_contract) and risk_per_contract > 0):
            raise InputError(f"max_size: risk_per_contract must be a finite number > 0 (USD); received {risk_per_contract}.")
        fit = math.floor(self.room().usd / risk_per_contract + 1e-9)
        return int(max(0, min(self.config.max_contracts, fit)))

    # ---------------------------------------------------------------- trades
    def record(self, net_usd: float, r_multiple: float = 0.0, day: object = None, *, liquidated: bool = False) -> list[Breach]:
        """Apply one closed trade (net of commission); returns the breaches it caused (maybe none).

        `liquidated=True` says the firm closed the trade at the account's room (simulator reason
        "limit"): the limit that bound the room before the trade is breached even when rounding
        to whole ticks left a few dollars of it.
        Raises InputError when the account has failed or the day is locked: a caller that keeps
        trading then has a bug, and silently accepting the trade would hide it.
        """
        if day is not None:
            self.start_day(day)
        if self.day is None:
            raise InputError("PropFirmAccount.record: call start_day(day) first or pass day=.")
        if not self.can_trade:
            why = "failed (max loss reached)" if self.failed else "locked for the day (daily loss limit reached)"
            raise InputError(f"PropFirmAccount.record: the account is {why}; check can_trade before trading.")
        if not (math.isfinite(net_usd) and math.isfinite(r_multiple)):
            raise InputError(f"PropFirmAccount.record: net_usd and r_multiple must be finite; received {net_usd}, {r_multiple}.")
        c = self.config
        binding = self.room().binding
        self.balance += net_usd
        self.day_pnl += net_usd
        self.trades += 1
        win = int(net_usd > 0)
        self.wins += win
        self.recent.append(win)
        if net_usd > 0:
            self.gross_profit += net_usd
        else:
            self.gross_loss -= net_usd
        self.sum_r += r_multiple
        self.sum_r2_down += min(r_multiple, 0.0) ** 2
        out = []
        if self.balance <= self.floor + 1e-9 or (liquidated and binding == "max_loss"):
            self.failed = True
            out.append(Breach("max_loss", self.day, self.balance, self.trades))  # type: ignore[arg-type]
        if self.day_pnl <= -c.daily_loss_limit + 1e-9 or (liquidated and binding == "daily"):
            self.locked_today = True
            out.append(Breach("daily_loss", self.day, self.balance, self.trades))  # type: ignore[arg-type]
        if not self.passed and self.balance >= c.starting_balance + c.profit_target - 1e-9:
            self.passed = True
            self.days_to_target = self.days
        self.breaches.extend(out)
        return out

    def end(self, kind: str = "exhausted") -> Breach:
        """End the account without a rule breach: 'exhausted' = the max-loss room no longer covers
        the smallest trade (1 contract, 1-tick stop, slippage and commission), so it cannot trade again."""
        self.failed = True
        b = Breach(kind, self.day, self.balance, self.trades)  # type: ignore[arg-type]
        self.breaches.append(b)
        return b

    def lock_day(self) -> None:
        """Stop trading for the rest of the day (the day's room no longer covers the smallest trade)."""
        self.locked_today = True

    # ---------------------------------------------------------------- vector
    def state(self) -> AccountState:
        """A frozen snapshot of what the account vector reads."""
        c = self.config
        return AccountState(
            balance=self.balance, starting_balance=c.starting_balance, floor=self.floor, max_loss=c.max_loss,
            day_pnl=self.day_pnl, daily_loss_limit=c.daily_loss_limit, profit_target=c.profit_target,
            trades=self.trades, wins=self.wins, gross_profit=self.gross_profit, gross_loss=self.gross_loss,
            sum_r=self.sum_r, sum_r2_down=self.sum_r2_down, recent_wins=tuple(self.recent),
        )

    def vector(self) -> np.ndarray:
        """account_vector(self.state()): the 10 values, the same function the engine calls."""
        return account_vector(self.state())
