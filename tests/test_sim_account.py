"""PropFirmAccount: each limit hit by a sequence built for it, room and sizing, and the account vector."""

from __future__ import annotations

import math

import numpy as np
import pytest

from algospace.errors import ConfigError, InputError
from algospace.sim import ACCOUNT_VECTOR_NAMES, AccountConfig, AccountState, PropFirmAccount, account_vector


def test_defaults_follow_a_50k_evaluation():
    c = AccountConfig()
    assert (c.starting_balance, c.max_contracts, c.daily_loss_limit, c.max_loss, c.profit_target) == (50_000, 5, 1_000, 2_000, 3_000)
    with pytest.raises(ConfigError):
        AccountConfig(max_los=1)  # unknown keys are errors
    with pytest.raises(ConfigError):
        AccountConfig(max_loss=60_000)


def test_daily_loss_limit_stops_the_day_only():
    a = PropFirmAccount()
    assert a.record(-600.0, -1.0, day=1) == []
    assert a.can_trade and a.room().daily == 400.0 and a.room().binding == "daily"
    (b,) = a.record(-400.0, -1.0, day=1)  # reaching -1,000 locks the day
    assert b.kind == "daily_loss" and b.trade == 2 and not a.can_trade and not a.failed
    with pytest.raises(InputError, match="locked"):
        a.record(100.0, 0.5, day=1)
    a.start_day(2)
    assert a.can_trade and a.day_pnl == 0.0 and a.balance == 49_000.0
    assert a.room().daily == 1_000.0 and a.room().max_loss == 1_000.0  # floor 48,000


def test_max_loss_trails_the_end_of_day_high_and_locks_at_the_start():
    a = PropFirmAccount()
    assert a.floor == 48_000
    a.record(900.0, 1.0, day=1)
    assert a.floor == 48_000  # intraday gains do not move the floor
    a.start_day(2)
    assert a.floor == 48_900  # end-of-day high 50,900
    a.record(900.0, 1.0, day=2)
    a.record(900.0, 1.0, day=3)  # EOD high of day 2: 51,800 -> floor 49,800
    assert a.floor == 49_800
    a.record(500.0, 1.0, day=4)  # EOD high of day 3: 52,700 -> 50,700, locked at 50,000
    assert a.floor == 50_000
    a.start_day(5)
    assert a.floor == 50_000  # stays locked: 53,200 - 2,000 would be 51,200
    a.record(-900.0, -1.0, day=6)
    a.record(-900.0, -1.0, day=7)
    a.record(-900.0, -1.0, day=8)
    assert a.balance == 50_500 and not a.failed
    (b,) = a.record(-500.0, -1.0, day=9)
    assert b.kind == "max_loss" and a.failed and a.balance == 50_000
    with pytest.raises(InputError, match="failed"):
        a.record(10.0, 0.1, day=10)


def test_max_loss_breach_from_the_start_and_without_trailing():
    a = PropFirmAccount(AccountConfig(daily_loss_limit=5_000))
    a.record(-1_999.0, -2.0, day=1)
    assert not a.failed
    (b,) = a.record(-1.0, -0.01, day=1)
    assert b.kind == "max_loss" and a.failed
    a = PropFirmAccount(AccountConfig(trailing=False))
    a.record(900.0, 1, day=1)
    a.start_day(2)
    assert a.floor == 48_000


def test_profit_target_and_days_to_target():
    a = PropFirmAccount()
    for day in range(1, 4):
        a.record(900.0, 1.0, day=day)
    assert not a.passed
    a.record(300.0, 0.3, day=4)
    assert a.passed and a.days_to_target == 4


def test_room_and_max_size():
    a = PropFirmAccount()
    assert a.max_size(300.0) == 3  # 1,000 daily room / 300
    assert a.max_size(100.0) == 5  # capped at max_contracts
    a.record(-800.0, -1, day=1)
    assert a.room().usd == 200.0 and a.max_size(150.0) == 1 and a.max_size(250.0) == 0
    with pytest.raises(InputError, match="risk_per_contract"):
        a.max_size(0.0)


def test_account_vector_values_by_hand():
    a = PropFirmAccount()
    v = a.vector()
    assert v.dtype == np.float32 and v.shape == (10,) and len(ACCOUNT_VECTOR_NAMES) == 10
    assert dict(zip(ACCOUNT_VECTOR_NAMES, v.tolist())) == {
        "balance_ratio": 1.0, "drawdown_used": 0.0, "daily_loss_used": 0.0, "target_progress": 0.0, "win_rate": 0.5,
        "profit_factor": 0.5, "sortino": 0.0, "trades": 0.0, "win_rate_5": 0.5, "win_rate_10": 0.5,
    }
    # day 1: +600 (R 2), -300 (R -1), -200 (R -0.5); 6 more losers of -10 (R -0.1) on day 2
    a.record(600.0, 2.0, day=1)
    a.record(-300.0, -1.0, day=1)
    a.record(-200.0, -0.5, day=1)
    got = dict(zip(ACCOUNT_VECTOR_NAMES, a.vector().tolist()))
    sortino = (0.5 / 3) / math.sqrt((1.0 + 0.25) / 3)
    want = {
        "balance_ratio": 50_100 / 50_000, "drawdown_used": 0.0, "daily_loss_used": 0.0,
        "target_progress": 100 / 3_000, "win_rate": 2 / 5, "profit_factor": 600 / 1_100, "sortino": sortino / 3,
        "trades": 0.03, "win_rate_5": 1 / 3, "win_rate_10": 1 / 3,
    }
    assert got == pytest.approx(want, rel=1e-6)  # drawdown_used clipped at 0: 2,100 above the floor
    for _ in range(6):
        a.record(-10.0, -0.1, day=2)
    got = dict(zip(ACCOUNT_VECTOR_NAMES, a.vector().tolist()))
    assert got["daily_loss_used"] == pytest.approx(60 / 1_000) and got["win_rate_5"] == 0.0 and got["win_rate_10"] == pytest.approx(1 / 9)
    assert got["drawdown_used"] == pytest.approx(1 - (50_040 - 48_100) / 2_000)  # floor trails day 1's close 50,100


def test_account_vector_is_bounded_and_refuses_other_input():
    s = AccountState(balance=80_000, starting_balance=50_000, floor=50_000, max_loss=2_000, day_pnl=-5_000,
                     daily_loss_limit=1_000, profit_target=3_000, trades=500, wins=500, gross_profit=1e6, gross_loss=0.0,
                     sum_r=500.0, sum_r2_down=0.0, recent_wins=(1,) * 10)
    v = dict(zip(ACCOUNT_VECTOR_NAMES, account_vector(s).tolist()))
    assert v["daily_loss_used"] == 1.0 and v["target_progress"] == 2.0 and v["sortino"] == 1.0 and v["trades"] == 1.0
    with pytest.raises(InputError, match="AccountState"):
        account_vector(np.zeros(10))
