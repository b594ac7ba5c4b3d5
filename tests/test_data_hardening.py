"""Issue 10, data side: implausible magnitudes, out-of-range times, swapped high/low, what
moved in a repair, and clear messages for files that are not what they claim to be."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.config import AppConfig, InstrumentConfig, get_config, set_config
from algospace.data import BarBuilder, load_bars, load_ticks, make_bars, sample, validate_bars
from algospace.errors import DataError, InputError

HEADER = "timestamp,open,high,low,close,volume\n"
ROWS = [
    "2019-03-01T14:30:00Z,100.0,101.0,99.5,100.5,1000",
    "2019-03-01T14:31:00Z,100.5,100.75,100.0,100.25,800",
    "2019-03-01T14:32:00Z,100.25,100.5,99.75,100.0,0",
    "2019-03-01T14:33:00Z,100.0,100.25,99.5,99.75,1200",
]


def _csv(tmp_path, rows, name="bars.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def _said(result) -> str:
    return result.output + str(result.exception)


# ----------------------------------------------------------------------------- magnitudes
@pytest.mark.parametrize(
    ("row", "column", "bound"),
    [
        ("2019-03-01T14:32:00Z,100.25,100.5,99.75,100.0,1e300", "volume", "max_volume 1e+15"),
        ("2019-03-01T14:32:00Z,1e300,1e300,1e300,1e300,10", "open", "max_price 1e+09"),
        ("2019-03-01T14:32:00Z,1e-300,1e-300,1e-300,1e-300,10", "open", "min_price 1e-06"),
    ],
)
def test_implausible_magnitudes_are_refused_naming_row_column_and_bound(tmp_path, row, column, bound):
    rows = list(ROWS)
    rows[2] = row
    p = _csv(tmp_path, rows)
    with pytest.raises(DataError, match=rf"row 2 \(file line 4\).*column '{column}'.*plausible {re.escape(bound)}"):
        load_bars(p)
    with pytest.raises(DataError, match="plausible"):
        load_bars(p, repair=True)  # never repaired: there is no honest value


@pytest.mark.parametrize("where", ["train", "test"])
def test_the_outcome_does_not_depend_on_where_the_row_falls(tmp_path, where):
    """Before: a bad row in the test part built features (clipped, with a numpy overflow
    warning); in the training part the fit failed. Now both are refused on the way in."""
    spy = sample("spy-1m")
    spy = spy.loc[spy.index < "2017-03-01"].copy()
    i = 100 if where == "train" else len(spy) - 100
    spy.iloc[i, spy.columns.get_loc("volume")] = 1e300
    path = tmp_path / "spy.parquet"
    spy.reset_index().to_parquet(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning may reach the user
        result = CliRunner().invoke(app, ["features", "build", "--data", str(path), "--instrument", "SPY", "--quiet",
                                          "--out", str(tmp_path / "f.parquet")])
        info = CliRunner().invoke(app, ["data", "info", str(path), "--instrument", "SPY"])
    assert result.exit_code == 1 and f"row {i}" in _said(result) and "max_volume" in _said(result), _said(result)
    assert info.exit_code == 1 and "none found" not in info.output and f"row {i}" in _said(info)
    spy.attrs = {"instrument": "SPY"}
    with pytest.raises(DataError, match=f"row {i} .*'volume'.*max_volume"):
        validate_bars(spy)
    with pytest.raises(DataError, match=f"row {i} .*'volume'.*max_volume"):
        make_bars(spy, 30)


def test_bounds_are_configurable_per_instrument(tmp_path):
    from algospace.data.bounds import Bounds

    spy = sample("spy-1m").iloc[:2000].copy()
    spy.attrs = {}
    old = get_config()
    try:
        set_config(AppConfig(instruments=[InstrumentConfig(name="TINY", point_value=1, tick_size=0.01, session="nyse-rth",
                                                           max_price=200.0, max_volume=1e6)]))
        with pytest.raises(DataError, match=r"column '\w+': 2\d\d.* above the plausible max_price 200 of TINY"):
            make_bars(spy, 30, "TINY")  # SPY traded above 200 in 2017
        from algospace.data import session_bars

        with pytest.raises(DataError, match="max_price 200"):
            session_bars(spy, 30, "TINY")
        b = BarBuilder(30, "TINY")
        with pytest.raises(DataError, match="max_price 200 of TINY"):
            b.update(spy.iloc[0])
        path = tmp_path / "spy.parquet"
        spy.reset_index().to_parquet(path)
        cfg = tmp_path / "config.yaml"
        cfg.write_text("instruments:\n  - {name: TINY, point_value: 1, tick_size: 0.01, session: nyse-rth, max_price: 200}\n")
        info = CliRunner().invoke(app, ["--config", str(cfg), "data", "info", str(path), "--instrument", "TINY"])
        assert info.exit_code == 1 and "max_price 200 of TINY" in _said(info), _said(info)
        assert CliRunner().invoke(app, ["data", "info", str(path), "--instrument", "SPY"]).exit_code == 0
        assert load_bars(path, bounds=Bounds(max_price=1e4)).shape == spy.shape
    finally:
        set_config(old)
    with pytest.raises(InputError, match="min_price < max_price"):
        Bounds(min_price=10.0, max_price=1.0)
    from algospace.data import get_instrument
    from algospace.errors import ConfigError

    try:
        set_config(AppConfig(instruments=[InstrumentConfig(name="BAD", point_value=1, tick_size=0.01, min_price=5.0, max_price=2.0)]))
        with pytest.raises(ConfigError, match="BAD: .*min_price < max_price"):
            get_instrument("ES")
    finally:
        set_config(old)


def test_streams_and_ticks_refuse_implausible_values_too(tmp_path):
    from algospace.data.bounds import DEFAULT_BOUNDS
    from algospace.features import ATR

    bar = sample("spy-1m").iloc[0].copy()
    bar["volume"] = 1e300
    with pytest.raises(DataError, match="implausible magnitude"):
        ATR().update(bar)
    p = tmp_path / "ticks.csv"
    p.write_text("timestamp,price,volume\n2019-03-01T14:30:00Z,100.0,1\n2019-03-01T14:30:01Z,1e300,1\n")
    with pytest.raises(DataError, match=r"row 1 .*'price'.*max_price"):
        load_ticks(p)
    assert DEFAULT_BOUNDS.violation({"open": np.array([1.0, np.nan])}) is None  # NaN is the finiteness rule's


# ----------------------------------------------------------------------------- timestamps
@pytest.mark.parametrize("stamp", ["2262-05-01 00:00:00", "1600-01-02 14:30:00", "2262-05-01T00:00:00Z"])
def test_out_of_range_timestamps_are_one_line_data_errors(tmp_path, stamp):
    rows = list(ROWS) if stamp.endswith("Z") else [r.replace("T", " ").replace("Z", "") for r in ROWS]
    rows[3] = stamp + ",100.0,100.25,99.5,99.75,1200"
    p = _csv(tmp_path, rows)
    with pytest.raises(DataError, match=r"row 3 \(file line 5\), column 'timestamp': .*lies outside 1677-09-21 \.\. 2262-04-11"):
        load_bars(p)
    info = CliRunner().invoke(app, ["data", "info", str(p)])
    assert info.exit_code == 1 and "row 3" in _said(info) and "Traceback" not in info.output
    build = CliRunner().invoke(app, ["features", "build", "--data", str(p), "--out", str(tmp_path / "f.parquet"), "--quiet"])
    assert build.exit_code == 1 and isinstance(build.exception, DataError) and "row 3" in str(build.exception)


def test_out_of_range_parquet_timestamps(tmp_path):
    stamps = pd.DatetimeIndex(np.array(["1600-01-01T00:00", "2019-01-01T00:00"], dtype="datetime64[ms]")).tz_localize("UTC")
    frame = pd.DataFrame({"timestamp": stamps, **{c: [1.0, 1.0] for c in ("open", "high", "low", "close", "volume")}})
    frame.to_parquet(tmp_path / "old.parquet")
    with pytest.raises(DataError, match=r"row 0, column 'timestamp': timestamp 1600-01-01.*lies outside"):
        load_bars(tmp_path / "old.parquet")


# ----------------------------------------------------------------------------- repair
def test_swapped_high_low_is_its_own_rule_and_repair_swaps_back(tmp_path):
    rows = list(ROWS)
    rows[1] = "2019-03-01T14:31:00Z,100.5,100.0,100.75,100.25,800"  # high and low swapped
    p = _csv(tmp_path, rows)
    with pytest.raises(DataError, match=r"row 1 .*columns 'high'/'low': high < low .*swapped"):
        load_bars(p)
    bars, report = load_bars(p, repair=True)
    assert (bars["high"].iloc[1], bars["low"].iloc[1]) == (100.75, 100.0)  # the true range, not a narrower one
    assert report.counts() == {"swapped high/low back": 1}
    change = report.changes[0]
    assert (change.row, change.column, change.old, change.new) == (1, "high/low", 100.0, 100.75)


def test_one_swapped_pair_of_rows_is_reported_as_two_moves():
    spy = sample("spy-1m").iloc[:400]
    idx = np.arange(400)
    idx[[100, 290]] = idx[[290, 100]]
    shuffled = spy.iloc[idx]
    with pytest.raises(DataError, match="out of order"):
        validate_bars(shuffled)
    from algospace.data.bars import check_bars

    fixed, report = check_bars(shuffled.index, shuffled, "shuffled", repair=True)
    moved = [c.row for c in report.changes if c.action == "moved into time order"]
    assert moved == [100, 290]  # was: 190 rows reported as moved
    pd.testing.assert_frame_equal(fixed, spy, check_freq=False)


# ----------------------------------------------------------------------------- messages
def test_unparseable_text_is_said_to_be_unparseable(tmp_path):
    rows = list(ROWS)
    rows[2] = "banana,100.25,100.5,99.75,100.0,0"
    with pytest.raises(DataError, match=r"row 2 .*cannot parse 'banana'") as err:
        load_bars(_csv(tmp_path, rows))
    assert "offset" not in str(err.value)


def test_a_directory_is_said_to_be_a_directory(tmp_path):
    (tmp_path / "bars.csv").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        load_bars(tmp_path / "bars.csv")


def test_an_unknown_timezone_is_refused_even_when_the_file_has_offsets(tmp_path):
    p = _csv(tmp_path, ROWS)
    with pytest.raises(InputError, match="Mars/Olympus"):
        load_bars(p, timezone="Mars/Olympus")
    with pytest.raises(InputError, match="Mars/Olympus"):
        load_ticks(p, timezone="Mars/Olympus")


def test_a_parquet_file_named_csv_is_named_for_what_it_is(tmp_path):
    p = tmp_path / "bars.csv"
    sample("spy-1m").iloc[:5].reset_index().to_parquet(p)
    with pytest.raises(DataError, match="is a Parquet file .*rename it to .parquet") as err:
        load_bars(p)
    assert "UnicodeDecodeError" not in str(err.value)


def test_binary_files_are_not_echoed(tmp_path):
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"\x00" * 1000)
    with pytest.raises(DataError, match="only NUL bytes") as err:
        load_bars(nul)
    assert "\x00" not in str(err.value) and len(str(err.value)) < 200
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(HEADER.encode() + b"\x00\x01\x02" * 50)
    with pytest.raises(DataError, match="binary"):
        load_bars(mixed)
