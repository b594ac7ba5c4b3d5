"""Files as the field's tools export them: each layout detected and read with the right times;
dates never guessed (the EURUSD day-first case, ambiguous columns, repair that would reorder)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.data import load_bars, load_data, load_ticks
from algospace.data.formats import read_table
from algospace.errors import DataError, InputError

runner = CliRunner()
UTC = "UTC"


def _ts(*texts: str, tz: str = UTC) -> list[pd.Timestamp]:
    return [pd.Timestamp(t, tz=tz).tz_convert(UTC) for t in texts]


def _write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


def _loads(path, fmt: str, times: tuple[str, ...], tz: str = UTC, **kw) -> pd.DataFrame:
    """load_bars(path, **kw) must detect `fmt` and give exactly `times` (local in `tz`)."""
    bars = load_bars(path, **kw)
    assert bars.attrs["format"] == fmt
    assert list(bars.index) == _ts(*times, tz=tz)
    return bars


def test_ninjatrader_bars_and_ticks(tmp_path):
    # NinjaTrader stamps a minute bar by its close: 09:31 is the 09:30-09:31 bar.
    p = _write(tmp_path, "ES 03-19.Last.txt", "20190102 093100;2500.25;2501;2499.75;2500.5;120\n20190102 093200;2500.5;2502;2500;2501.75;80\n"
                                             "20190102 093300;2501.75;2502.25;2501.5;2502;95\n")
    bars = load_bars(p, timezone="America/New_York")
    assert bars.attrs["format"] == "ninjatrader"
    assert list(bars.index) == _ts("2019-01-02 09:30", "2019-01-02 09:31", "2019-01-02 09:32", tz="America/New_York")
    assert bars["close"].tolist() == [2500.5, 2501.75, 2502.0] and bars["volume"].tolist() == [120, 80, 95]
    assert any("shifted back one bar (00:01:00)" in n for n in bars.attrs["notes"])
    t = _write(tmp_path, "ES 03-19.Last.ticks.txt", "20190102 093000 0500000;2500.25;2500;2500.25;3\n20190102 093001 1000000;2500.5;2500.25;2500.5;1\n")
    ticks = load_ticks(t, timezone="America/Chicago")
    assert ticks.attrs["format"] == "ninjatrader"
    assert list(ticks.index) == _ts("2019-01-02 09:30:00.05", "2019-01-02 09:30:01.1", tz="America/Chicago")
    assert ticks["price"].tolist() == [2500.25, 2500.5]


def test_tradingview_time_in_unix_seconds(tmp_path):
    p = _write(tmp_path, "CME_MINI_ES1!, 30.csv", "time,open,high,low,close,Volume,MA\n1546439400,2500,2510,2495,2505,1000,2501.2\n"
                                                 "1546441200,2505,2506,2490,2492,900,2502\n")
    _loads(p, "tradingview", ("2019-01-02 14:30", "2019-01-02 15:00"))


def test_sierra_chart_date_and_time_columns(tmp_path):
    p = _write(tmp_path, "ESH19.scid_BarData.txt", "Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume\n"
                                                  "2019/1/2, 08:30:00, 2500, 2501, 2499, 2500.5, 10, 4, 5, 5\n"
                                                  "2019/1/2, 08:31:00, 2500.5, 2502, 2500, 2501, 12, 6, 6, 6\n")
    bars = _loads(p, "sierra", ("2019-01-02 08:30", "2019-01-02 08:31"), "America/Chicago", timezone="America/Chicago")
    assert bars["close"].tolist() == [2500.5, 2501.0]  # Sierra's 'Last' is the close


def test_metatrader_4_and_5(tmp_path):
    mt4 = _write(tmp_path, "EURUSD60.csv", "2017.01.02,00:00,1.0520,1.0530,1.0510,1.0525,120\n2017.01.02,01:00,1.0525,1.0540,1.0520,1.0535,80\n")
    _loads(mt4, "metatrader", ("2017-01-02 00:00", "2017-01-02 01:00"))
    mt5 = _write(tmp_path, "EURUSD_H1.csv", "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
                                          "2017.01.13\t10:00:00\t1.06\t1.07\t1.05\t1.065\t321\t0\t2\n"
                                          "2017.01.13\t11:00:00\t1.065\t1.07\t1.06\t1.066\t300\t0\t2\n")
    bars = _loads(mt5, "metatrader", ("2017-01-13 10:00", "2017-01-13 11:00"), "Europe/Athens", timezone="Europe/Athens")
    assert bars["volume"].tolist() == [321, 300] and any("TICKVOL" in n for n in bars.attrs["notes"])


def test_interactive_brokers_date_with_two_spaces_and_zone(tmp_path):
    p = _write(tmp_path, "ib.csv", "date,open,high,low,close,volume,average,barCount\n20190102  09:30:00,250.1,250.5,249.9,250.2,1000,250.2,50\n"
                                   "20190102  09:31:00,250.2,250.6,250.0,250.4,900,250.3,40\n")
    _loads(p, "ib", ("2019-01-02 09:30", "2019-01-02 09:31"), "America/New_York", timezone="America/New_York")
    z = _write(tmp_path, "ibz.csv", "date,open,high,low,close,volume\n20190102 09:30:00 US/Eastern,1,1,1,1,1\n")
    assert list(load_bars(z).index) == _ts("2019-01-02 09:30", tz="America/New_York")  # the zone the cells name


def test_databento_nanoseconds_and_fixed_point_prices(tmp_path):
    ns = pd.Timestamp("2019-01-02 14:30", tz=UTC).value
    p = _write(tmp_path, "glbx-mdp3-ohlcv-1m.csv", "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol\n"
                                                  f"{ns},33,1,5002,2500250000000,2501000000000,2499750000000,2500500000000,120,ESH9\n"
                                                  f"{ns + 60 * 10**9},33,1,5002,2500500000000,2502000000000,2500000000000,2501750000000,80,ESH9\n")
    bars = _loads(p, "databento", ("2019-01-02 14:30", "2019-01-02 14:31"))
    assert bars["open"].tolist() == [2500.25, 2500.5] and any("1e-9" in n for n in bars.attrs["notes"])
    t = _write(tmp_path, "trades.csv", f"ts_event,price,size,side\n{ns},2500.25,3,B\n{ns + 5},2500.5,1,A\n")
    ticks = load_ticks(t)
    assert ticks["volume"].tolist() == [3, 1] and ticks.index[1] - ticks.index[0] == pd.Timedelta(5, unit="ns")


def test_yfinance_adj_close_ignored_and_multirow_header(tmp_path):
    p = _write(tmp_path, "SPY.csv", "Datetime,Open,High,Low,Close,Adj Close,Volume\n2019-01-02 09:30:00-05:00,245.98,246.5,245.9,246.2,230.1,1000\n"
                                    "2019-01-02 09:31:00-05:00,246.2,246.3,246.0,246.1,230.0,800\n")
    bars = load_bars(p)
    assert bars.attrs["format"] == "yfinance" and any("Adj Close" in n for n in bars.attrs["notes"])
    assert list(bars.index) == _ts("2019-01-02 14:30", "2019-01-02 14:31") and bars["close"].tolist() == [246.2, 246.1]
    multi = _write(tmp_path, "SPY2.csv", "Price,Adj Close,Close,High,Low,Open,Volume\nTicker,SPY,SPY,SPY,SPY,SPY,SPY\nDatetime,,,,,,\n"
                                         "2019-01-02 14:30:00+00:00,230.1,246.2,246.5,245.9,245.98,1000\n")
    bars = load_bars(multi)
    assert bars.attrs["format"] == "yfinance" and list(bars.index) == _ts("2019-01-02 14:30") and bars["open"].iloc[0] == 245.98


@pytest.mark.parametrize("col", ["timestamp", "datetime", "Date", "time"])
def test_plain_time_column_names(tmp_path, col):
    p = _write(tmp_path, "plain.csv", f"{col},open,high,low,close,volume\n2019-01-02 14:30:00,1,2,1,2,5\n")
    _loads(p, "plain", ("2019-01-02 14:30",))


def test_separate_date_and_time_columns(tmp_path):
    p = _write(tmp_path, "dt.csv", "Date,Time,Open,High,Low,Close,Volume\n01/14/2019,9:30,1,2,1,2,5\n")
    _loads(p, "plain", ("2019-01-14 09:30",))  # joined; 14 decides month-first; 9:30 padded
    q = _write(tmp_path, "dt2.csv", "date,time,open,high,low,close,volume\n2019-01-02 09:30:00,09:30,1,2,1,2,5\n")
    _loads(q, "plain", ("2019-01-02 09:30",))  # a date column that holds times is used alone


def test_named_format_must_match_and_unknown_format(tmp_path):
    p = _write(tmp_path, "x.csv", "datetime,open,high,low,close,volume\n2019-01-02 14:30:00,1,2,1,2,5\n")
    with pytest.raises(DataError, match="--format ninjatrader given, but the file looks like plain"):
        load_bars(p, format="ninjatrader")
    with pytest.raises(InputError, match="Did you mean 'tradingview'"):
        load_bars(p, format="tradingveiw")
    daily = _write(tmp_path, "ib_daily.csv", "date,open,high,low,close,volume\n20190102,1,2,1,2,5\n20190103,2,2,1,1,5\n")
    with pytest.raises(DataError, match="compact date"):
        load_bars(daily)  # bare yyyyMMdd could be an epoch number: refused unless the format says
    assert list(load_bars(daily, format="ib").index) == _ts("2019-01-02", "2019-01-03")
    clock = _write(tmp_path, "clock.csv", "time,open,high,low,close,volume\n09:30:00,1,2,1,2,5\n")
    with pytest.raises(DataError, match="time of day without a date"):
        load_bars(clock)
    q = _write(tmp_path, "y.csv", "when,open,high,low,close,volume\n2019-01-02 14:30:00,1,2,1,2,5\n")
    with pytest.raises(DataError, match="--time-column"):
        load_bars(q)
    assert list(load_bars(q, timestamp_column="when").index) == _ts("2019-01-02 14:30")


def _eurusd(tmp_path, days: int = 40):
    """Hourly EURUSD in Dukascopy's layout: 'Gmt time' as dd.mm.yyyy HH:MM:SS.fff."""
    idx = pd.date_range("2017-01-02", periods=24 * days, freq="h")
    rows = [f"{t:%d.%m.%Y %H:%M:%S}.000,1.05,1.06,1.04,1.055,{100 + i}" for i, t in enumerate(idx)]
    return _write(tmp_path, "EURUSD_Candlestick_1_Hour_BID_02.01.2017-10.02.2017.csv",
                  "Gmt time,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n"), idx


def test_eurusd_day_first_strict_and_repair_give_the_right_series(tmp_path):
    p, idx = _eurusd(tmp_path)
    strict = load_bars(p)
    assert strict.index.equals(pd.DatetimeIndex(idx, name="timestamp").tz_localize(UTC).as_unit("ns"))
    repaired, report = load_bars(p, repair=True)
    assert repaired.index.equals(strict.index) and not report.changed
    assert any("Gmt time" in n for n in strict.attrs["notes"])
    with pytest.raises(DataError, match="cannot be month-first"):
        load_bars(p, dayfirst=False)


def test_ambiguous_dates_refused_with_an_example_unless_told(tmp_path):
    p, idx = _eurusd(tmp_path, days=5)  # 02.01 .. 06.01: no field above 12 anywhere
    with pytest.raises(DataError, match=r"'02\.01\.2017 00:00:00\.000' are ambiguous.*--dayfirst or --monthfirst"):
        load_bars(p)
    assert load_bars(p, dayfirst=True).index[0] == pd.Timestamp("2017-01-02", tz=UTC)
    assert load_bars(p, dayfirst=False).index[0] == pd.Timestamp("2017-02-01", tz=UTC)
    us = _write(tmp_path, "us.csv", "Date,Open,High,Low,Close,Volume\n01/02/2019,1,1,1,1,1\n01/14/2019,1,1,1,1,1\n")
    assert list(load_bars(us).index) == _ts("2019-01-02", "2019-01-14")  # 14 can only be a day: month-first
    mixed = _write(tmp_path, "mixed.csv", "Date,Open,High,Low,Close,Volume\n13/01/2019,1,1,1,1,1\n01/14/2019,1,1,1,1,1\n")
    with pytest.raises(DataError, match="mixes date orders"):
        load_bars(mixed)


def test_repair_never_reorders_more_than_a_handful(tmp_path):
    # 10.01..12.01 then 01.02..03.02, hourly: no field above 12, so only --monthfirst reads it
    # month-first, and then 72 rows (2, 3 and 4 January... read as Jan/Feb/Mar) fall before October.
    idx = pd.date_range("2017-01-10", periods=72, freq="h").append(pd.date_range("2017-02-01", periods=72, freq="h"))
    rows = [f"{t:%d.%m.%Y %H:%M}:00,1.05,1.06,1.04,1.055,1" for t in idx]
    p = _write(tmp_path, "eurusd.csv", "Gmt time,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    assert load_bars(p, dayfirst=True).index.equals(pd.DatetimeIndex(idx, name="timestamp").tz_localize(UTC).as_unit("ns"))
    with pytest.raises(DataError, match="rows are out of time order.*day-first vs month-first"):
        load_bars(p, dayfirst=False, repair=True)
    with pytest.raises(DataError, match="out of order.*day-first vs month-first"):
        load_bars(p, dayfirst=False)


def test_cli_reads_with_format_time_column_timezone_and_dayfirst(tmp_path):
    p, _ = _eurusd(tmp_path, days=5)
    res = runner.invoke(app, ["data", "info", str(p), "--instrument", "SPY"])
    assert res.exit_code != 0 and "ambiguous" in str(res.exception)
    res = runner.invoke(app, ["data", "info", str(p), "--instrument", "SPY", "--dayfirst", "--format", "plain"])
    assert res.exit_code == 0, res.output
    assert "plain layout" in res.output and "2017-01-02 00:00:00+00:00" in res.output
    q = _write(tmp_path, "when.csv", "when,open,high,low,close,volume\n2019-01-02 09:30:00,1,2,1,2,5\n2019-01-02 09:31:00,2,2,1,1,5\n")
    out = tmp_path / "b.parquet"
    res = runner.invoke(app, ["data", "bars", "--data", str(q), "--minutes", "1", "--instrument", "SPY", "--out", str(out),
                              "--time-column", "when", "--timezone", "America/New_York"])
    assert res.exit_code == 0, res.output
    assert load_bars(out).index[0] == pd.Timestamp("2019-01-02 14:30", tz=UTC)
    for cmd in (["features", "build"], ["train", "rde"], ["infer", "rde"]):
        help_text = runner.invoke(app, [*cmd, "--help"]).output
        assert all(o in help_text for o in ("--format", "--time-column", "--timezone", "--dayfirst")), cmd


def test_load_data_passes_read_options(tmp_path):
    p = _write(tmp_path, "nt.txt", "20190102 093100;2500;2501;2499;2500.5;1\n20190102 093200;2500.5;2502;2500;2501;1\n")
    bars = load_data(p, timezone="America/New_York")
    assert bars.attrs["format"] == "ninjatrader" and bars.index[0] == pd.Timestamp("2019-01-02 14:30", tz=UTC)
    assert read_table(p).kind == "bars"
    with pytest.raises(InputError, match="spy-1m is a bundled sample; timezone only apply to files"):
        load_data("spy-1m", timezone="UTC")
