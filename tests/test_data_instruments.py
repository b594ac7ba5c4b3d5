"""Instrument specs, config instruments, tick rounding and session calendars."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from algospace.config import AppConfig, InstrumentConfig, get_config, set_config
from algospace.data import CME_GLOBEX, NYSE_RTH, UTC_24H, Instrument, get_calendar, get_instrument
from algospace.errors import InputError


def test_builtin_specs():
    es, mes, spy = get_instrument("ES"), get_instrument("mes"), get_instrument("SPY")
    assert (es.point_value, es.tick_size, es.tick_value, es.calendar) == (50.0, 0.25, 12.5, CME_GLOBEX)
    assert (mes.point_value, mes.tick_size, mes.calendar.name) == (5.0, 0.25, "cme-globex")
    assert (spy.point_value, spy.tick_size, spy.calendar) == (1.0, 0.01, NYSE_RTH)
    assert es.pnl(2.0, 3) == 300.0 and spy.pnl(1.5, 100) == 150.0  # SPY: 1 contract = 1 share


def test_round_to_tick():
    es, spy = get_instrument("ES"), get_instrument("SPY")
    assert es.round_to_tick(4500.13) == 4500.25
    assert es.round_to_tick(4500.1) == 4500.0 and es.round_to_tick(4500.2) == 4500.25
    assert es.round_to_tick(4500.1, "up") == 4500.25 and es.round_to_tick(4500.2, "down") == 4500.0
    assert es.round_to_tick(4500.25, "down") == 4500.25 and es.round_to_tick(4500.25, "up") == 4500.25
    assert spy.round_to_tick(0.1 + 0.2) == 0.3 and spy.round_to_tick(224.03400000000002) == 224.03
    np.testing.assert_array_equal(es.round_to_tick(np.array([1.1, 1.4])), [1.0, 1.5])
    with pytest.raises(InputError, match="mode"):
        es.round_to_tick(1.0, "sideways")
    with pytest.raises(InputError, match="finite"):
        es.round_to_tick(float("nan"))


def test_unknown_name_did_you_mean_and_bad_spec():
    with pytest.raises(InputError, match="Did you mean 'MES'"):
        get_instrument("MESS")
    with pytest.raises(InputError, match="tick_size"):
        Instrument("X", 1.0, 0.0, "24h")
    with pytest.raises(InputError, match="Did you mean 'nyse-rth'"):
        get_calendar("nyse-rht")


def test_user_defined_from_config():
    old = get_config()
    try:
        set_config(AppConfig(instruments=[InstrumentConfig(name="NQ", point_value=20, tick_size=0.25), InstrumentConfig(name="BTC", point_value=1, tick_size=0.5, session="24h")]))
        nq = get_instrument("nq")
        assert (nq.name, nq.point_value, nq.calendar) == ("NQ", 20.0, CME_GLOBEX)
        assert get_instrument("BTC").calendar == UTC_24H
    finally:
        set_config(old)
    with pytest.raises(InputError):
        get_instrument("NQ")


def test_calendars_locate():
    ts = pd.DatetimeIndex(
        [pd.Timestamp(s, tz="America/Chicago") for s in ["2013-09-01 17:00", "2013-09-03 15:59:59", "2013-09-03 16:30", "2013-09-06 17:00", "2013-09-08 16:59", "2013-09-02 11:00"]]
    ).tz_convert("UTC")
    so, sc, ok = CME_GLOBEX.locate(ts)
    # halt, Friday evening, Sunday before the open, Labor Day after its 10:30 CT early close
    assert ok.tolist() == [True, True, False, False, False, False]
    assert pd.Timestamp(so[0], tz="UTC") == pd.Timestamp("2013-09-01 17:00", tz="America/Chicago")
    assert pd.Timestamp(sc[0], tz="UTC") == pd.Timestamp("2013-09-02 10:30", tz="America/Chicago")
    assert pd.Timestamp(sc[1], tz="UTC") == pd.Timestamp("2013-09-03 16:00", tz="America/Chicago")
    # DST: the RTH open is 14:30 UTC in winter and 13:30 UTC in summer.
    w, s = NYSE_RTH.session_of(pd.Timestamp("2019-01-02 15:00", tz="UTC")), NYSE_RTH.session_of(pd.Timestamp("2019-07-02 15:00", tz="UTC"))
    assert w[0] == pd.Timestamp("2019-01-02 14:30", tz="UTC") and s[0] == pd.Timestamp("2019-07-02 13:30", tz="UTC")
    assert NYSE_RTH.session_of(pd.Timestamp("2019-07-06 15:00", tz="UTC")) is None  # Saturday
    # The scalar path used by streaming agrees with the vectorised one.
    for t in ts.append(pd.DatetimeIndex([pd.Timestamp("2019-03-11 13:30", tz="UTC")])):
        v = CME_GLOBEX.locate(pd.DatetimeIndex([t]))
        assert CME_GLOBEX.locate_one(t.value) == (int(v[0][0]), int(v[1][0]), bool(v[2][0]))
    assert UTC_24H.locate(ts)[2].all()


def test_resolve_instrument_order():
    from algospace.config import DataConfig
    from algospace.data import resolve_instrument, sample

    spy = sample("spy-1m").iloc[:10]
    assert resolve_instrument("mes").name == "MES"  # explicit wins
    assert resolve_instrument("ES", spy).name == "ES"
    assert resolve_instrument(get_instrument("SPY")).name == "SPY"
    assert resolve_instrument(None, spy).name == "SPY"  # then the data's attrs
    old = get_config()
    try:
        set_config(AppConfig(data=DataConfig(instrument="MES")))
        assert resolve_instrument(None).name == "MES"  # then the config
        plain = pd.DataFrame(spy)  # a frame without attrs
        plain.attrs = {}
        assert resolve_instrument(None, plain).name == "MES"
    finally:
        set_config(old)
    with pytest.raises(InputError, match="received int 5"):
        resolve_instrument(5)
    with pytest.raises(InputError, match="Did you mean 'SPY'"):
        resolve_instrument("SPX", spy)
