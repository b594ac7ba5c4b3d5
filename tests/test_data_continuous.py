"""Continuous futures from made-up contract files whose roll dates and adjusted prices are
worked out by hand (ES calendar: trade dates 2019-03-04 .. 2019-03-15)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.data import continuous, load_bars
from algospace.errors import DataError, InputError

runner = CliRunner()
CT = "America/Chicago"
DAYS = pd.bdate_range("2019-03-04", "2019-03-15")  # d = 0..9


def _contract(base: float, slope: float, vol_before: float, vol_after: float, switch: int, days=DAYS) -> pd.DataFrame:
    """Two bars a day (09:00 and 15:00 CT): closes base + d + slope*d and +0.5 at 15:00."""
    rows, idx = [], []
    for d, day in enumerate(days):
        for hm, extra in (("09:00", 0.0), ("15:00", 0.5)):
            c = base + d + slope * d + extra
            idx.append(pd.Timestamp(f"{day:%Y-%m-%d} {hm}", tz=CT).tz_convert("UTC"))
            rows.append((c - 0.25, c + 0.5, c - 0.5, c, vol_before if d < switch else vol_after))
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], index=pd.DatetimeIndex(idx, name="timestamp"))


def _h_m():
    h = _contract(2800.0, 0.0, 1000, 100, 3)  # ESH19: volume falls on d=3 (Thu 2019-03-07)
    m = _contract(2810.0, 0.25, 200, 900, 3, pd.bdate_range("2019-03-04", "2019-03-22"))  # ESM19: 10 + 0.25*d above H
    return h, m


def test_volume_roll_difference_by_hand():
    h, m = _h_m()
    series, rolls = continuous({"ESM19": m, "ESH19": h}, roll="volume", adjust="difference", instrument="ES")
    # M first out-trades H on 2019-03-07; the roll takes effect at the next session (trade date 03-08).
    assert len(rolls) == 1 and str(rolls.loc[0, "trade_date"]) == "2019-03-08"
    assert (rolls.loc[0, "from_contract"], rolls.loc[0, "to_contract"]) == ("ESH19", "ESM19")
    # Reference: both closes at 15:00 on 03-07 (d=3): H 2803.5, M 2803.5 + 10 + 0.75 = 2814.25.
    assert (rolls.loc[0, "old_close"], rolls.loc[0, "new_close"], rolls.loc[0, "difference"]) == (2803.5, 2814.25, 10.75)
    assert len(series) == 8 + 22  # H: 4 days x 2 bars, M: 11 days x 2 bars
    assert series["close"].iloc[0] == 2800.0 + 10.75  # H's first close, shifted
    assert series["close"].iloc[7] == 2814.25  # H's last used bar (03-07 15:00) equals M's close that day
    assert series["close"].iloc[8] == 2810.0 + 4 + 1.0  # M's own price from 03-08 09:00 on
    assert series.index[8] == pd.Timestamp("2019-03-08 09:00", tz=CT)
    assert series["volume"].iloc[0] == 1000 and series["volume"].iloc[8] == 900  # volume never adjusted
    assert series.index.is_monotonic_increasing and series.index.is_unique


def test_calendar_roll_ratio_and_none_by_hand():
    h, m = _h_m()
    series, rolls = continuous({"ESH19": h, "ESM19": m}, roll="calendar", adjust="ratio", roll_days=8, instrument="ES")
    # 8 days before H's last trade date 03-15 is 03-07: M from the 03-07 session; reference 03-06 (d=2).
    assert str(rolls.loc[0, "trade_date"]) == "2019-03-07" and str(rolls.loc[0, "reference_date"]) == "2019-03-06"
    assert (rolls.loc[0, "old_close"], rolls.loc[0, "new_close"]) == (2802.5, 2813.0)
    factor = 2813.0 / 2802.5
    assert series["close"].iloc[0] == pytest.approx(2800.0 * factor, rel=1e-15)
    assert series["high"].iloc[5] == pytest.approx((2802.5 + 0.5) * factor, rel=1e-15)
    assert series["close"].iloc[6] == 2810.0 + 3 + 0.75  # first M bar, raw
    assert rolls.loc[0, "earlier_factor"] == pytest.approx(factor)
    raw, _ = continuous({"ESH19": h, "ESM19": m}, roll="calendar", adjust="none", instrument="ES")
    assert raw["close"].iloc[0] == 2800.0 and raw["close"].iloc[6] == 2813.75


def test_three_contracts_cumulative_offsets():
    days = pd.bdate_range("2019-03-04", "2019-04-12")  # g = 0..29, one global day index for all three

    def leg(base: float, first: int, last: int, vol) -> pd.DataFrame:
        full = _contract(base, 0.0, 0, 0, 0, days)  # close = base + g (+0.5 at 15:00)
        full["volume"] = [vol(g) for g in range(len(days)) for _ in range(2)]
        return full.iloc[2 * first : 2 * (last + 1)]

    h = leg(100.0, 0, 9, lambda g: 500 if g < 3 else 10)
    m = leg(110.0, 0, 19, lambda g: 100 if g < 3 else 500 if g < 13 else 10)  # +10 over H
    u = leg(130.0, 5, 29, lambda g: 1 if g < 13 else 1000)  # +20 over M
    series, rolls = continuous({"H": h, "M": m, "U": u}, roll="volume", adjust="difference", instrument="ES")
    assert [str(d) for d in rolls["trade_date"]] == [str(days[4].date()), str(days[14].date())]
    assert rolls["difference"].tolist() == [10.0, 20.0]
    assert rolls["earlier_offset"].tolist() == [30.0, 20.0]  # H carries both gaps, M the second
    assert series["close"].iloc[0] == 100.0 + 30.0  # H 09:00 on g=0
    assert series["close"].iloc[8] == 110.0 + 4 + 20.0  # M 09:00 on g=4
    assert series["close"].iloc[-1] == u["close"].iloc[-1]  # the last contract stays real
    assert len(series) == 2 * 30


def test_errors():
    h, m = _h_m()
    with pytest.raises(InputError, match="'roll' parameter"):
        continuous({"H": h, "M": m}, roll="open-interest")
    with pytest.raises(InputError, match="'adjust' parameter"):
        continuous({"H": h, "M": m}, adjust="panama")
    with pytest.raises(InputError, match="at least two"):
        continuous({"H": h})
    with pytest.raises(DataError, match="share no trade date before the roll"):
        continuous({"H": h, "M": _contract(2810.0, 0.0, 1, 1, 0, pd.bdate_range("2019-03-18", "2019-03-20"))}, instrument="ES")
    with pytest.raises(DataError, match="both end at"):
        continuous({"H": h, "M": h.copy()}, instrument="ES")


def test_cli_continuous_from_ninjatrader_exports(tmp_path):
    h, m = _h_m()
    files = []
    for name, frame in (("ESH19", h), ("ESM19", m)):
        p = tmp_path / f"ES {name[-3:]}.Last.txt"  # NinjaTrader's own file names and layout
        local = frame.index.tz_convert(CT)
        lines = [f"{t:%Y%m%d %H%M%S};{r.open};{r.high};{r.low};{r.close};{int(r.volume)}" for t, r in zip(local, frame.itertuples())]
        p.write_text("\n".join(lines) + "\n")
        files.append(str(p))
    out = tmp_path / "es_cont.parquet"
    res = runner.invoke(app, ["data", "continuous", files[1], files[0], "--roll", "volume", "--adjust", "difference",
                              "--instrument", "ES", "--timezone", CT, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 rolls" in res.output and "ES H19 -> ES M19" in res.output
    series = load_bars(out)
    # NinjaTrader stamps bars at their close: the 09:00 CT stamp becomes 03:00 (the smallest
    # spacing here is the 6 hours from 09:00 to 15:00); trade dates and prices are unchanged.
    assert len(series) == 30 and series["close"].iloc[0] == 2810.75
    assert series.index[0] == pd.Timestamp("2019-03-04 03:00", tz=CT)
    rolls = pd.read_csv(tmp_path / "es_cont.rolls.csv")
    assert rolls.loc[0, "trade_date"] == "2019-03-08" and rolls.loc[0, "difference"] == 10.75
