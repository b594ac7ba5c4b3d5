"""Bundled samples, the data CLI (samples, info, bars) and the speed target."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.data import load_bars, make_bars, sample, samples, validate_bars
from algospace.errors import InputError

runner = CliRunner()


def test_spy_sample_is_contract_valid_with_report():
    bars, report = sample("spy-1m", return_report=True)
    validate_bars(bars)
    assert len(bars) == 293_707 and bars.attrs["instrument"] == "SPY"
    assert bars.index[0] == pd.Timestamp("2017-01-03 09:30", tz="America/New_York")
    assert bars.index[-1] == pd.Timestamp("2019-12-31 16:00", tz="America/New_York")
    # Summer bars open at 09:30 New York (13:30 UTC): the upstream fixed -05:00 label is undone.
    assert pd.Timestamp("2017-07-03 13:30", tz="UTC") in bars.index
    assert report.counts() == {"widened high": 193, "widened low": 1} and report.rows_out == len(bars)
    assert (bars["volume"] == 0).sum() == 13


def test_es_sample_ticks_and_cached_copies():
    ticks = sample("es-ticks")
    assert list(ticks.columns) == ["price", "volume"] and len(ticks) == 500_000
    assert ticks.index[0] == pd.Timestamp("2013-09-01 17:00:00.083", tz="America/Chicago")
    assert ticks.index.is_monotonic_increasing and not ticks.index.is_unique
    ticks.iloc[0, 0] = -1.0  # a caller's edit must not leak into the cache
    assert sample("es-ticks").iloc[0, 0] == 1640.25
    with pytest.raises(InputError, match="Did you mean 'spy-1m'"):
        sample("spy1m")


def test_samples_listing():
    info = {s.name: s for s in samples()}
    assert set(info) == {"spy-1m", "es-ticks"}
    assert info["spy-1m"].rows == 293_707 and info["spy-1m"].licence == "Apache-2.0" and info["spy-1m"].kind == "bars"
    assert info["es-ticks"].rows == 500_000 and info["es-ticks"].licence == "MIT" and "mlfinpy==0.1.2" in info["es-ticks"].source
    assert info["spy-1m"].end == pd.Timestamp("2019-12-31 21:00", tz="UTC")


def test_cli_samples_and_info():
    res = runner.invoke(app, ["data", "samples"])
    assert res.exit_code == 0, res.output
    assert "spy-1m" in res.output and "es-ticks" in res.output and "293,707" in res.output and "Apache-2.0" in res.output
    res = runner.invoke(app, ["data", "info", "spy-1m"])
    assert res.exit_code == 0, res.output
    for text in ["293,707", "2017-01-03 14:30:00+00:00", "2019-12-31 21:00:00+00:00", "754", "193 widened high", "nyse-rth"]:
        assert text in res.output, text
    res = runner.invoke(app, ["data", "info", "es-ticks"])
    assert res.exit_code == 0 and "500,000" in res.output and "06:30:00.780000" in res.output


def test_cli_bars_writes_parquet_and_info_reads_it(tmp_path):
    out = tmp_path / "spy30.parquet"
    res = runner.invoke(app, ["data", "bars", "--data", "spy-1m", "--minutes", "30", "--instrument", "SPY", "--out", str(out)])
    assert res.exit_code == 0, res.output
    # 9,780 on the weekly calendar; 28 fewer now: bars after the 13:00 early closes of 8 days.
    assert "wrote 9,752 30-minute bars" in res.output
    bars = load_bars(out)
    assert len(bars) == 9752
    res = runner.invoke(app, ["data", "info", str(out), "--instrument", "SPY"])
    assert res.exit_code == 0 and "30 min" in res.output and "flaws" in res.output
    csv = tmp_path / "bad.csv"
    csv.write_text("timestamp,open,high,low,close,volume\n2019-01-02 15:00:00,1,1,1,1,-1\n")
    res = runner.invoke(app, ["data", "info", str(csv)])
    assert res.exit_code != 0 and "negative volume" in str(res.exception)


def test_load_data_and_instrument_from_attrs(tmp_path):
    from algospace.data import load_data

    spy = load_data("spy-1m")
    assert spy.attrs["instrument"] == "SPY"
    b30 = make_bars(spy.iloc[:5000], 30)  # instrument taken from the sample's attrs
    assert b30.attrs["instrument"] == "SPY" and b30.equals(make_bars(spy.iloc[:5000], 30, "SPY"))
    assert make_bars(b30, 60).attrs["instrument"] == "SPY"
    p = tmp_path / "t.csv"
    p.write_text("timestamp,price,volume\n2013-09-03T14:00:00Z,1650.25,2\n")
    ticks = load_data(p)
    assert ticks.attrs["kind"] == "ticks" and ticks["price"].iloc[0] == 1650.25
    with pytest.raises(InputError, match="Did you mean 'es-ticks'"):
        load_data("es-tick")


def test_cli_bars_heikin_ashi_and_fill_gaps(tmp_path):
    out = tmp_path / "es_ha.parquet"
    res = runner.invoke(app, ["data", "bars", "--data", "es-ticks", "--minutes", "5", "--fill-gaps", "--heikin-ashi", "--out", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    assert "filled" in frame.columns and len(frame) == 461
    validate_bars(frame[["open", "high", "low", "close", "volume"]])


def test_load_data_logs_the_repair_report(tmp_path, caplog):
    import logging

    from algospace.data import load_data

    p = tmp_path / "flawed.csv"
    p.write_text("timestamp,open,high,low,close,volume\n2019-03-01 14:30:00,100,99.5,99,100.5,10\n2019-03-01 14:31:00,100.5,101,100,100.25,5\n")
    with caplog.at_level(logging.INFO, logger="algospace.data.sources"):
        bars = load_data(p, repair=True)
    assert bars["high"].iloc[0] == 100.5
    assert any("1 widened high" in r.getMessage() and str(p) in r.getMessage() for r in caplog.records)


def test_describe_and_load_data_share_one_resolver(tmp_path):
    from algospace.data import load_data
    from algospace.data.info import describe
    from algospace.data.sources import open_source

    for fn in (load_data, describe):
        with pytest.raises(InputError, match="Did you mean 'es-ticks'"):
            fn("es-tick")
        with pytest.raises(InputError, match="sample name .*received NoneType"):
            fn(None)
    p = tmp_path / "t.csv"
    p.write_text("timestamp,price,volume\n2013-09-03T14:00:00Z,1650.25,2\n2013-09-03T14:00:01Z,1650.5,1\n")
    src = open_source(p, repair=False)
    assert (src.kind, src.name, src.report) == ("ticks", str(p), None)
    info = describe(p, "ES")
    assert (info.kind, info.rows, info.source) == ("ticks", 2, str(p))
