"""Exchange calendars (pandas_market_calendars): holidays, early closes, breaks, user calendars."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.config import AppConfig, InstrumentConfig, get_config, set_config
from algospace.data import BarBuilder, bars_to_frame, get_calendar, get_instrument, make_bars, sample
from algospace.data.info import describe
from algospace.errors import ConfigError, InputError

runner = CliRunner()
NY, CT = "America/New_York", "America/Chicago"


def test_nyse_holidays_and_early_closes():
    nyse = get_calendar("nyse-rth")
    assert nyse.session_of(pd.Timestamp("2017-11-23 15:00", tz=NY)) is None  # Thanksgiving
    o, c = nyse.session_of(pd.Timestamp("2017-11-24 12:59", tz=NY))
    assert c == pd.Timestamp("2017-11-24 13:00", tz=NY)  # the day after: 13:00 early close
    assert nyse.session_of(pd.Timestamp("2017-11-24 13:00", tz=NY)) is None
    assert nyse.session_of(pd.Timestamp("2018-12-05 10:00", tz=NY)) is None  # national day of mourning (ad hoc)
    names = dict((d.strftime("%Y-%m-%d"), n) for d, n in nyse.holidays("2017-01-01", "2017-12-31"))
    assert names["2017-11-23"] == "Thanksgiving" and len(names) == 9


def test_cme_globex_equity_early_closes_and_holidays():
    cme = get_calendar("cme-globex")
    # Day after Thanksgiving: 12:15 CT close; Christmas: no session; 17:00 reopen the evening after.
    assert cme.session_of(pd.Timestamp("2017-11-24 12:14", tz=CT))[1] == pd.Timestamp("2017-11-24 12:15", tz=CT)
    assert cme.session_of(pd.Timestamp("2017-11-24 12:15", tz=CT)) is None
    assert cme.session_of(pd.Timestamp("2018-12-25 10:00", tz=CT)) is None
    assert cme.session_of(pd.Timestamp("2018-12-25 17:00", tz=CT))[0] == pd.Timestamp("2018-12-25 17:00", tz=CT)


def test_forex_is_24x5_new_york_17():
    fx = get_calendar("forex")
    assert fx.session_of(pd.Timestamp("2020-01-05 17:00", tz=NY))[0] == pd.Timestamp("2020-01-05 17:00", tz=NY)  # Sunday open
    assert fx.session_of(pd.Timestamp("2020-01-04 18:00", tz=NY)) is None  # Saturday
    assert fx.session_of(pd.Timestamp("2020-01-03 17:00", tz=NY)) is None  # Friday after the close
    assert fx.session_of(pd.Timestamp("2020-01-03 16:59", tz=NY))[1] == pd.Timestamp("2020-01-03 17:00", tz=NY)


def test_bars_never_span_a_break():
    # Hong Kong: 09:30-12:00 and 13:00-16:00; 60-minute bars restart at 13:00, no 11:30-12:30 bar.
    old = get_config()
    set_config(AppConfig(instruments=[InstrumentConfig(name="HSI", point_value=50, tick_size=1, session="XHKG")]))
    try:
        idx = pd.date_range("2020-01-02 09:30", "2020-01-02 15:59", freq="1min", tz="Asia/Hong_Kong").tz_convert("UTC")
        one = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=idx.rename("timestamp"))
        bars = make_bars(one, 60, "HSI")
        local = list(bars.index.tz_convert("Asia/Hong_Kong").strftime("%H:%M"))
        assert local == ["09:30", "10:30", "11:30", "13:00", "14:00", "15:00"]
        assert bars["volume"].tolist() == [60, 60, 30, 60, 60, 60]  # 12:00-13:00 lunch dropped
        assert bars.attrs["dropped_outside_session"] == 60
        b = BarBuilder(60, "HSI")
        stream = [x for row in one.itertuples() for x in b.update(tuple(row))] + b.flush()
        assert bars_to_frame(stream).equals(bars.drop(columns=[], errors="ignore").set_axis(bars.index))
    finally:
        set_config(old)


def test_user_calendar_names_and_closest_matches(tmp_path):
    assert get_calendar("xlon").name == "XLON" and get_calendar("CME_Equity").timezone == CT
    with pytest.raises(InputError, match=r"Did you mean 'NYSE'"):
        get_calendar("NYSEE")
    p = tmp_path / "c.yaml"
    p.write_text("instruments:\n  - {name: FTSE, point_value: 10, tick_size: 0.5, session: XLOM}\n")
    from algospace.config import load_config

    with pytest.raises(ConfigError, match="Did you mean 'XLON'"):
        load_config(p)


def test_streaming_equals_batch_on_an_early_close_day():
    spy = sample("spy-1m").loc["2017-11-24"]
    batch = make_bars(spy, 30, "SPY")
    b = BarBuilder(30, "SPY")
    stream = [x for row in spy.itertuples() for x in b.update(tuple(row))] + b.flush()
    assert bars_to_frame(stream).equals(batch)
    assert batch.index.tz_convert(NY).strftime("%H:%M")[-1] == "12:30"  # nothing after the 13:00 close


def test_data_info_spy_shows_holidays_and_early_closes():
    info = describe("spy-1m")
    assert len(info.holidays) == 27 and info.missing_sessions == 0
    # 407 after-hours bars the weekly calendar kept, plus 6 16:00 closing prints it dropped too.
    assert len(info.early_closes) == 8 and info.rows_after_early_close == 413
    res = runner.invoke(app, ["data", "info", "spy-1m"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    for needle in ("holidays (exchange closed)", "Thanksgiving", "early closes", "2017-11-24 13:00", "413 after early closes"):
        assert needle in text, needle


def test_schedule_disk_cache_round_trip_and_corrupt_file(tmp_path, monkeypatch):
    from algospace.data import calendars

    def forget() -> None:
        calendars._segments.cache_clear()
        calendars._year_segments.cache_clear()

    monkeypatch.setenv("ALGOSPACE_CACHE_DIR", str(tmp_path))
    forget()
    ts = pd.DatetimeIndex([pd.Timestamp("2019-11-29 12:59", tz=NY), pd.Timestamp("2019-11-29 13:00", tz=NY)])
    fresh = get_calendar("nyse-rth").locate(ts)
    files = sorted(p.name for p in (tmp_path / "calendars").iterdir())
    assert files and all(f.startswith("NYSE-default-") and f.endswith(".npy") for f in files)
    forget()
    cached = get_calendar("nyse-rth").locate(ts)  # read back from disk
    assert all((a == b).all() for a, b in zip(fresh, cached)) and cached[2].tolist() == [True, False]
    for f in (tmp_path / "calendars").iterdir():
        f.write_bytes(b"not an array")
    forget()
    again = get_calendar("nyse-rth").locate(ts)  # unreadable cache: recomputed, same answer
    assert all((a == b).all() for a, b in zip(fresh, again))
    forget()
