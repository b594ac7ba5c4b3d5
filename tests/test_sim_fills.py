"""The simulator against hand-computed trades (stop first, gaps, session close, max hold,
commission, tick grid, the account's liquidation), and the vectorised path against a plain
bar-by-bar loop on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from algospace.data import get_calendar, get_instrument
from algospace.errors import InputError
from algospace.signals import SignalSet
from algospace.sim import REASONS, Market, SimConfig, build_paths, simulate, simulate_ticks

ES = get_instrument("ES")
RTH = get_calendar("nyse-rth")
DAY = pd.Timestamp("2024-01-02 14:30", tz="UTC")  # a Tuesday, 09:30 New York
P = 4500.0


def day_bars(changes: dict[int, tuple[float, float, float, float]], days: int = 1) -> pd.DataFrame:
    """78 flat 5-minute bars per session at 4500; `changes` sets (open, high, low, close) of bar k."""
    idx = []
    for d in range(days):
        start = DAY + pd.Timedelta(days=d)
        idx += list(pd.date_range(start, periods=78, freq="5min"))
    n = len(idx)
    ohlc = np.full((n, 4), P)
    for k, v in changes.items():
        ohlc[k] = v
    bars = pd.DataFrame(ohlc, columns=["open", "high", "low", "close"], index=pd.DatetimeIndex(idx, name="timestamp"))
    bars["volume"] = 1000.0
    bars.attrs = {"instrument": "ES", "minutes": 5}
    return bars


def one(bars, size=1, stop=8, target=16, direction=1, signal_bar=0, cfg=None, limit=None, **kw):
    sigs = SignalSet.from_arrays([bars.index[signal_bar]], [direction], [2.0])
    paths = build_paths(bars, sigs, ES, RTH, cfg or SimConfig())
    out = simulate_ticks(paths, 0, size, stop, target, limit)
    return out.to_frame().iloc[0]


def test_target_hit_long():
    # entry bar 1 opens 4500 -> entry 4500.25 (1 tick slippage); target 16 ticks = 4504.25
    r = one(day_bars({2: (4500.5, 4504.25, 4499.0, 4503.0)}))
    assert (r.reason, r.entry_price, r.stop_price, r.target_price, r.exit_price) == ("target", 4500.25, 4498.25, 4504.25, 4504.25)
    assert r.pnl_ticks == 16 and r.gross_usd == 200.0 and r.commission_usd == 4.5 and r.net_usd == 195.5
    assert r.risk_usd == 100.0 and r.r_multiple == pytest.approx(1.955) and r.bars_held == 2
    assert r.exit_time == DAY + pd.Timedelta(minutes=15)  # close of bar 2


def test_stop_first_when_both_touched():
    r = one(day_bars({2: (4500.5, 4505.0, 4498.0, 4503.0)}))
    # stop 4498.25 filled, minus 1 tick slippage on the stop (a market order once triggered)
    assert (r.reason, r.exit_price, r.pnl_ticks, r.net_usd) == ("stop", 4498.0, -9, -9 * 12.5 - 4.5)


def test_gap_through_stop_fills_at_open():
    r = one(day_bars({2: (4497.0, 4497.5, 4496.0, 4497.0)}))
    assert (r.reason, r.exit_price, r.pnl_ticks) == ("stop", 4496.75, -14)


def test_gap_through_target_fills_at_open_even_if_stop_touched_later():
    r = one(day_bars({2: (4506.0, 4507.0, 4497.0, 4498.0)}))
    assert (r.reason, r.exit_price, r.pnl_ticks) == ("target", 4506.0, 23)


def test_short_is_mirrored():
    # short entry 4499.75; stop 4501.75; target 4495.75
    r = one(day_bars({3: (4499.5, 4500.0, 4495.5, 4496.0)}), direction=-1)
    assert (r.reason, r.entry_price, r.stop_price, r.target_price, r.exit_price, r.pnl_ticks) == (
        "target", 4499.75, 4501.75, 4495.75, 4495.75, 16)
    r = one(day_bars({3: (4500.0, 4502.0, 4495.0, 4496.0)}), direction=-1)
    assert (r.reason, r.exit_price, r.pnl_ticks) == ("stop", 4502.0, -9)


def test_session_close_flat_before_the_end():
    # flat 5 minutes before the 16:00 close: the last bar held is 15:50-15:55 (bar 76)
    r = one(day_bars({76: (4500.0, 4501.0, 4499.5, 4501.0), 77: (4501.0, 4520.0, 4501.0, 4519.0)}), stop=40, target=80)
    assert (r.reason, r.exit_price, r.pnl_ticks, r.bars_held) == ("session_close", 4500.75, 2, 76)
    assert r.exit_time == DAY + pd.Timedelta(minutes=5 * 77)
    # with flat_before_close_minutes=None the trade runs into the next session's bars (max hold ends it)
    r = one(day_bars({}, days=2), stop=40, target=80, cfg=SimConfig(flat_before_close_minutes=None, max_hold_bars=100))
    assert (r.reason, r.bars_held) == ("max_hold", 100)


def test_no_entry_after_the_flat_time_or_across_sessions():
    bars = day_bars({}, days=2)
    assert one(bars, signal_bar=76).reason == "no_entry"  # entry bar 15:55 ends after the flat time
    assert one(bars, signal_bar=77).reason == "no_entry"  # next bar is tomorrow's session
    assert one(bars, signal_bar=75).reason != "no_entry"


def test_max_hold_exits_at_the_close():
    r = one(day_bars({3: (4500.0, 4502.0, 4500.0, 4502.0)}), stop=40, target=80, cfg=SimConfig(max_hold_bars=3))
    assert (r.reason, r.bars_held, r.exit_price, r.pnl_ticks) == ("max_hold", 3, 4501.75, 6)


def test_commission_slippage_size_and_mes():
    cfg = SimConfig(commission_per_contract=0.0, slippage_ticks=0)
    r = one(day_bars({2: (4500.5, 4504.0, 4499.0, 4503.0)}), size=3, cfg=cfg)
    assert (r.entry_price, r.exit_price, r.gross_usd, r.net_usd) == (4500.0, 4504.0, 3 * 16 * 12.5, 600.0)
    cfg = SimConfig(commission_per_contract=2.0, slippage_ticks=2)
    r = one(day_bars({2: (4500.5, 4504.5, 4499.0, 4503.0)}), size=2, cfg=cfg)
    assert (r.entry_price, r.exit_price, r.commission_usd, r.net_usd) == (4500.5, 4504.5, 4.0, 2 * 16 * 12.5 - 4.0)
    sigs = SignalSet.from_arrays([DAY], [1], [2.0])
    mes = build_paths(day_bars({2: (4500.5, 4504.25, 4499.0, 4503.0)}), sigs, get_instrument("MES"), RTH)
    o = simulate_ticks(mes, 0, 5, 8, 16)
    assert o.gross_usd[0] == 5 * 16 * 1.25 and o.commission_usd[0] == 5 * 1.5


def test_tick_grid_and_atr_stop():
    bars = day_bars({})
    sigs = SignalSet.from_arrays([DAY, DAY + pd.Timedelta(minutes=5)], [1, -1], [1.3, 0.77])
    paths = build_paths(bars, sigs, ES, RTH)
    out = simulate(paths, [0, 1], 1, stop_mult=1.1, reward_risk=1.7)
    # 1.1 x 1.3 = 1.43 points = 5.72 ticks -> 6; target 1.7 x 6 = 10.2 -> 10 ticks; 1.1 x 0.77 = 3.39 ticks -> 3, 5.1 -> 5
    assert list(out.stop_ticks) == [6, 3] and list(out.target_ticks) == [10, 5]
    for col in (out.entry_price, out.stop_price, out.target_price, out.exit_price):
        assert np.allclose(col / 0.25, np.round(col / 0.25))
    with pytest.raises(InputError, match="stop_mult"):
        simulate(paths, 0, 1, 3.5, 2.0)
    with pytest.raises(InputError, match="reward_risk"):
        simulate(paths, 0, 1, 2.0, 0.5)
    with pytest.raises(InputError, match="signal"):
        simulate(paths, 2, 1, 2.0, 2.0)
    with pytest.raises(InputError, match="size"):
        simulate(paths, 0, -1, 2.0, 2.0)


def test_size_zero_is_no_trade():
    r = one(day_bars({2: (4500.5, 4504.25, 4499.0, 4503.0)}), size=0)
    assert (r.reason, r.net_usd, r.bars_held, r.r_multiple) == ("no_trade", 0.0, 0, 0.0)


def test_loss_limit_liquidates_at_the_room():
    # room 150 USD for 2 contracts: 75 - 4.50 commission = 70.5 USD = 5.64 ticks, less 1 tick slippage -> 4 ticks
    bars = day_bars({2: (4500.0, 4500.5, 4498.0, 4499.0)})
    r = one(bars, size=2, stop=8, limit=150.0)
    assert (r.reason, r.exit_price, r.pnl_ticks) == ("limit", 4499.0, -5)
    assert -r.net_usd <= 150.0 and r.net_usd == -(2 * 5 * 12.5 + 9.0)
    assert one(bars, size=2, stop=8, limit=10.0).reason == "no_room"
    assert one(bars, size=2, stop=8, limit=1e6).reason == "stop"  # plenty of room: the own stop


# ----------------------------------------------------------------------------- real data vs a plain loop
def loop_trade(bars, inst, cfg, signal_time, direction, size, stop_ticks, target_ticks):
    """A deliberately plain bar-by-bar simulation of one trade, written from the rules in docs/sim.md."""
    tick, slip = inst.tick_size, cfg.slippage_ticks * inst.tick_size
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    opens = bars.index
    so, sc, _ = RTH.locate(opens)
    e = opens.searchsorted(signal_time + pd.Timedelta(minutes=5))
    sig_so = RTH.locate(pd.DatetimeIndex([signal_time]))[0][0]
    flat = sc[e] - cfg.flat_before_close_minutes * 60 * 10**9 if e < len(bars) else 0
    bar_ns = cfg.bar_minutes * 60 * 10**9
    if e >= len(bars) or so[e] != sig_so or opens.asi8[e] + bar_ns > flat:
        return "no_entry", 0.0
    d = direction
    entry = o[e] + d * slip
    stop, target = entry - d * stop_ticks * tick, entry + d * target_ticks * tick
    k = e
    while True:
        adverse_open = (o[k] <= stop) if d > 0 else (o[k] >= stop)
        favour_open = (o[k] >= target) if d > 0 else (o[k] <= target)
        if k > e and favour_open:
            return "target", (o[k] - entry) * d
        if k > e and adverse_open:
            return "stop", (o[k] - d * slip - entry) * d
        hit_stop = lo[k] <= stop if d > 0 else h[k] >= stop
        hit_target = h[k] >= target if d > 0 else lo[k] <= target
        if hit_stop:
            return "stop", (stop - d * slip - entry) * d
        if hit_target:
            return "target", (target - entry) * d
        last_of_session = k + 1 >= len(bars) or so[k + 1] != so[k] or opens.asi8[k + 1] + bar_ns > flat
        if k - e + 1 == cfg.max_hold_bars:
            return "max_hold", (c[k] - d * slip - entry) * d
        if last_of_session:
            return ("session_close" if k + 1 < len(bars) else "data_end"), (c[k] - d * slip - entry) * d
        k += 1


@pytest.fixture(scope="module")
def spy_market():
    from algospace.data import sample

    s = sample("spy-1m")
    return Market.load(s.loc[(s.index >= "2018-01-01") & (s.index < "2018-04-01")], "ES")


def random_signals(bars, n, rng, within=None):
    """n signals at random distinct bars (of the first `within` bars), random directions and ATRs."""
    pool = bars.index if within is None else bars.index[:within]
    times = pd.DatetimeIndex(np.sort(rng.choice(pool, n, replace=False)))
    return times, SignalSet.from_arrays(times, rng.choice([-1, 1], n), rng.uniform(0.5, 4.0, n))


@pytest.fixture(scope="module")
def spy_market_1m():
    from algospace.data import sample

    s = sample("spy-1m")
    return Market.load(s.loc[(s.index >= "2018-01-01") & (s.index < "2018-02-01")], "ES", bar_minutes=1)


@pytest.mark.parametrize("bar_minutes", [5, 1])
def test_vectorised_equals_a_plain_loop_on_real_data(bar_minutes, spy_market, spy_market_1m):
    m = spy_market if bar_minutes == 5 else spy_market_1m
    rng = np.random.default_rng(7)
    n = 300
    times, sigs = random_signals(m.bars_5m, n, rng)  # signals live on the 5-minute clock
    cfg = SimConfig(bar_minutes=bar_minutes, max_hold_bars=int(rng.integers(5, 60)) * (6 - bar_minutes))
    paths = build_paths(m.bars, sigs, m.instrument, m.calendar, cfg)
    stop = rng.integers(1, 40, n)
    target = rng.integers(1, 80, n)
    out = simulate_ticks(paths, np.arange(n), 1, stop, target)
    reasons = out.reason_names()
    for i in range(n):
        want, pnl = loop_trade(m.bars, m.instrument, cfg, times[i], int(sigs.directions[i]), 1, stop[i], target[i])
        assert reasons[i] == want, (i, times[i])
        if want != "no_entry":
            assert out.pnl_ticks[i] * 0.25 == pytest.approx(pnl, abs=1e-9), (i, times[i], want)
    assert set(reasons) >= {"stop", "target", "session_close", "max_hold"}


def test_outcomes_use_no_bar_after_the_exit(spy_market):
    """Changing every bar after a cut leaves each trade that exited by the cut unchanged (no look-ahead)."""
    from algospace.features.causality import perturb_after

    m = spy_market
    rng = np.random.default_rng(3)
    _, sigs = random_signals(m.bars, 200, rng, within=3000)
    args = (np.arange(200), 2, rng.uniform(0.5, 3.0, 200), rng.uniform(1.0, 5.0, 200))
    base = simulate(build_paths(m.bars, sigs, m.instrument, m.calendar), *args)
    cut = 1500
    changed_bars = perturb_after(m.bars, cut, seed=1)
    for k in ("open", "high", "low", "close"):
        changed_bars[k] = ES.round_to_tick(changed_bars[k].to_numpy())
    changed = simulate(build_paths(changed_bars, sigs, m.instrument, m.calendar), *args)
    done = base.traded & (base.exit_time_ns <= m.bars.index.asi8[cut] + 5 * 60 * 10**9)
    assert done.sum() > 50
    for f in ("reason", "exit_price", "net_usd", "bars_held"):
        np.testing.assert_array_equal(getattr(base, f)[done], getattr(changed, f)[done])
    assert not np.array_equal(base.net_usd, changed.net_usd)  # later trades did change


def test_reason_codes_are_stable():
    assert REASONS[:6] == ("stop", "target", "max_hold", "session_close", "data_end", "limit")


def test_one_trade_path_equals_the_array_path(spy_market):
    """simulate_one (the environment's scalar path) gives every field of simulate, limits included."""
    from dataclasses import fields

    from algospace.sim import simulate_one

    m = spy_market
    rng = np.random.default_rng(11)
    n = 400
    _, sigs = random_signals(m.bars, n, rng)
    paths = build_paths(m.bars, sigs, m.instrument, m.calendar, SimConfig(max_hold_bars=30))
    size = rng.integers(0, 6, n)
    mult, rr = rng.uniform(0.5, 3.0, n), rng.uniform(1.0, 5.0, n)
    limit = rng.choice([5.0, 60.0, 150.0, 400.0, 1e6], n)
    many = simulate(paths, np.arange(n), size, mult, rr, loss_limit_usd=limit)
    assert {"limit", "no_room", "stop", "target", "no_trade"} <= set(many.reason_names())
    for i in range(n):
        one = simulate_one(paths, i, int(size[i]), float(mult[i]), float(rr[i]), float(limit[i]))
        for f in fields(many):
            assert getattr(one, f.name)[0] == getattr(many, f.name)[i], (i, f.name)
    with pytest.raises(InputError, match="stop_mult"):
        simulate_one(paths, 0, 1, 0.2, 2.0)
    with pytest.raises(InputError, match="signal"):
        simulate_one(paths, n, 1, 2.0, 2.0)
