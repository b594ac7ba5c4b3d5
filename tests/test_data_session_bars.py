"""`session_bars`: the one conversion from ticks or bars to N-minute session bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from algospace.data import make_bars, sample, session_bars
from algospace.errors import DataError, InputError


def test_ticks_become_bars_of_the_datas_own_instrument():
    ticks = sample("es-ticks")
    bars = session_bars(ticks, 30)
    assert bars.attrs["instrument"] == "ES" and bars.attrs["minutes"] == 30
    pd.testing.assert_frame_equal(bars, make_bars(ticks, 30, "ES"))


def test_finer_bars_are_aggregated_and_30_minute_bars_pass_through():
    spy = sample("spy-1m").iloc[:3000]
    bars30 = session_bars(spy, 30)
    pd.testing.assert_frame_equal(bars30, make_bars(spy, 30, "SPY"))
    again = session_bars(bars30, 30)
    pd.testing.assert_frame_equal(again, bars30)
    assert again.attrs["instrument"] == "SPY"


def test_the_instrument_is_never_guessed():
    spy = sample("spy-1m").iloc[:500].copy()
    spy.attrs = {}
    with pytest.raises(InputError, match="Cannot tell which instrument"):
        session_bars(spy, 30)
    assert session_bars(spy, 30, "SPY").attrs["instrument"] == "SPY"


def test_coarser_bars_and_other_frames_are_refused():
    bars30 = make_bars(sample("spy-1m").iloc[:3000], 30, "SPY")
    with pytest.raises(DataError, match="apart"):
        session_bars(bars30, 5)
    with pytest.raises(InputError, match="bars .* or ticks"):
        session_bars(pd.DataFrame({"x": [1.0]}), 30)


def test_input_is_validated_once_with_the_full_contract():
    spy = sample("spy-1m").iloc[:100].copy()
    spy.iloc[5, spy.columns.get_loc("high")] = spy["low"].iloc[5] / 2  # high below the open
    with pytest.raises(DataError, match="row 5"):
        session_bars(spy, 30)


def test_the_engine_turns_ticks_into_bars(tiny_rde):
    """`infer rde --data es-ticks` used to say 'regime_series needs bars'."""
    from algospace.engines.rde import RegimeDetectionEngine

    artifact, bars30 = tiny_rde
    engine = RegimeDetectionEngine.load(artifact, device="cpu", backend="torch-eager")
    spy = sample("spy-1m")
    spy = spy.loc[spy.index < "2017-03-01"]
    # One trade per minute at the minute's close: ticks whose 30-minute bars are known.
    ticks = pd.DataFrame({"price": spy["close"], "volume": spy["volume"]}, index=spy.index)
    ticks.attrs = {"kind": "ticks", "instrument": "SPY"}
    got = engine.regime_series(ticks)
    want = engine.regime_series(make_bars(ticks, 30, "SPY"))
    assert len(got) > 0
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    # es-ticks: converted with the data's own ES sessions; too short for one window, and said so.
    with pytest.raises(InputError, match="needs at least 105 bars"):
        engine.regime_series(sample("es-ticks"))


def test_infer_rde_cli_converts_ticks(tiny_rde, tmp_path):
    from algospace.cli import app

    artifact, _ = tiny_rde
    result = CliRunner().invoke(app, ["infer", "rde", "--artifact", str(artifact), "--data", "es-ticks",
                                      "--out", str(tmp_path / "r.parquet")])
    said = result.output + str(result.exception)
    assert result.exit_code == 1
    assert "needs bars" not in said and "received 77" in said
