"""The runtime: its trades are the simulator's, live equals backtest, restarts never repeat an
order, decisions are causal, and the event chain runs in order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algospace.data import get_instrument, sample
from algospace.errors import DataError
from algospace.runtime.deciders import RuleDecider
from algospace.runtime.events import (
    AccountUpdated,
    DecisionMade,
    OrderFilled,
    OrderPlaced,
    SignalDetected,
    TradeClosed,
)
from algospace.runtime.runner import Runtime, RuntimeConfig
from algospace.runtime.sources import FollowCSV, ReplaySource
from algospace.signals import build_signals
from algospace.sim import Market, backtest, build_paths

SPY = get_instrument("SPY")


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    one = sample("spy-1m")
    return one[one.index < one.index[0] + pd.Timedelta(days=60)]


def rule(bus, inst):  # noqa: ANN001, ANN201 - a decider factory
    return RuleDecider(inst, 1, 2.0, 2.0)


def _runtime(out: Path | None = None, **kw) -> Runtime:  # noqa: ANN003
    return Runtime(SPY, rule, RuntimeConfig(**kw), out, durable=out is not None)


@pytest.fixture(scope="module")
def backtest_run(bars: pd.DataFrame) -> Runtime:
    rt = _runtime()
    rt.bus.record = True
    rt.run(ReplaySource(bars), end_of_data=True)
    return rt


def test_runtime_trades_are_the_vectorised_simulators(bars: pd.DataFrame, backtest_run: Runtime) -> None:
    """Same signals, rules and account through sim.backtest (batch) and the runtime (bar by bar)."""
    m = Market.load(bars, "ES")
    sigs = build_signals(m.bars_5m, m.bars_30m, "components", proxy=m.proxy)
    res = backtest(build_paths(m.bars, sigs, m.instrument, m.calendar), sigs, lambda obs, i: (1, 2.0, 2.0))
    batch = res.outcomes.to_frame()[res.outcomes.traded].reset_index(drop=True)
    live = backtest_run.trades_frame()
    assert len(live) > 15
    assert len(live) == len(batch)
    np.testing.assert_array_equal(live["exit_time"].to_numpy(), batch["exit_time"].to_numpy())
    np.testing.assert_array_equal(live["reason"].to_numpy(), batch["reason"].to_numpy())
    np.testing.assert_allclose(live["net_usd"], batch["net_usd"], atol=1e-9)
    np.testing.assert_allclose(live["entry_price"], batch["entry_price"], atol=1e-9)
    assert backtest_run.metrics()["net_pnl"] == pytest.approx(float(batch["net_usd"].sum()))
    assert backtest_run.bars.proxy.startswith("SPY x10 as ES")


def test_event_order_of_a_stopped_trade(backtest_run: Runtime) -> None:
    events = backtest_run.bus.recorded
    closed = [e for e in events if isinstance(e, TradeClosed) and e.reason == "stop"]
    assert closed, "the sample period has stopped-out trades"
    oid = closed[0].order_id
    i_order = next(i for i, e in enumerate(events) if isinstance(e, OrderPlaced) and e.order_id == oid)
    chain = [e for e in events[i_order - 2 : i_order + 200]
             if (isinstance(e, (OrderFilled, TradeClosed, OrderPlaced)) and e.order_id == oid)
             or isinstance(e, (SignalDetected, DecisionMade, AccountUpdated))]
    kinds = [type(e).__name__ for e in chain]
    start = kinds.index("OrderPlaced")
    assert kinds[start - 2 : start] == ["SignalDetected", "DecisionMade"]
    after = kinds[start:]
    assert after[:2] == ["OrderPlaced", "OrderFilled"]
    k = after.index("TradeClosed")
    assert after[k + 1] == "AccountUpdated"
    fill = next(e for e in chain if isinstance(e, OrderFilled))
    trade = next(e for e in chain if isinstance(e, TradeClosed))
    assert fill.time == trade.entry_time and fill.price == trade.entry_price
    assert trade.net_usd < 0 and trade.exit_time > fill.time


def test_decisions_are_causal(bars: pd.DataFrame, backtest_run: Runtime) -> None:
    cut = bars.index[len(bars) * 6 // 7]
    changed = bars.copy()
    later = changed.index > cut
    for c in ("open", "high", "low", "close"):
        changed.loc[later, c] = changed.loc[later, c] * 0.9
    changed.loc[later, "volume"] *= 3
    rt = _runtime()
    rt.bus.record = True
    rt.run(ReplaySource(changed), end_of_data=True)

    def upto(runtime: Runtime) -> list[dict]:
        return [e.to_dict() for e in runtime.bus.recorded if isinstance(e, DecisionMade) and e.time <= cut]

    a, b = upto(backtest_run), upto(rt)
    assert len(a) > 10 and a == b


def _write_csv(path: Path, frame: pd.DataFrame, header: bool = True) -> None:
    f = frame.reset_index()
    f["timestamp"] = f["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    f.to_csv(path, mode="a", header=header, index=False)


def test_live_run_equals_backtest_and_restart_sends_no_order_twice(bars: pd.DataFrame, tmp_path: Path) -> None:
    part = bars.iloc[: len(bars) * 3 // 4]
    data = tmp_path / "feed.csv"
    _write_csv(data, part)
    full = tmp_path / "full.csv"
    _write_csv(full, part)
    _write_csv(full, bars.iloc[len(bars) * 3 // 4 :], header=False)

    backtest_out = tmp_path / "backtest"
    _runtime(backtest_out).run(ReplaySource(str(full)), end_of_data=True)

    live_out = tmp_path / "live"
    first = _runtime(live_out)
    first.run(FollowCSV(data, poll_s=0.01, idle_timeout_s=0.05), end_of_data=False)  # stops: feed idle
    orders_before = (live_out / "orders.jsonl").read_text().splitlines()
    assert orders_before
    _write_csv(data, bars.iloc[len(bars) * 3 // 4 :], header=False)  # the feed goes on
    second = _runtime(live_out)  # a restart: replays, checks the log, appends only what is new
    second.run(FollowCSV(data, poll_s=0.01, idle_timeout_s=0.05), end_of_data=True)
    orders_after = (live_out / "orders.jsonl").read_text().splitlines()
    assert orders_after[: len(orders_before)] == orders_before
    ids = [json.loads(x)["order_id"] for x in orders_after if json.loads(x)["event"] == "OrderPlaced"]
    assert len(ids) == len(set(ids))
    assert orders_after == (backtest_out / "orders.jsonl").read_text().splitlines()
    pd.testing.assert_frame_equal(pd.read_parquet(live_out / "trades.parquet"), pd.read_parquet(backtest_out / "trades.parquet"))
    state = json.loads((live_out / "state.json").read_text())
    assert state["orders"] == len(ids) and state["open_position"] is None


def test_a_log_that_disagrees_with_the_replay_is_refused(bars: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _runtime(out).run(ReplaySource(bars.iloc[:12000]), end_of_data=False)
    lines = (out / "orders.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    rec["size"] = 3
    lines[0] = json.dumps(rec, sort_keys=True)
    (out / "orders.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="does not match a replay"):
        _runtime(out).run(ReplaySource(bars.iloc[:12000]), end_of_data=False)


def test_trading_starts_at_trade_from(bars: pd.DataFrame, backtest_run: Runtime) -> None:
    start = bars.index[len(bars) * 3 // 4]
    rt = _runtime(trade_from=start.to_pydatetime())
    rt.run(ReplaySource(bars), end_of_data=True)
    t = rt.trades_frame()
    assert len(t) and (t["signal_time"] >= start).all()
    assert len(t) < len(backtest_run.trades_frame())
