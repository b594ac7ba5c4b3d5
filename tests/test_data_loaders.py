"""load_bars / load_ticks / validate_bars: every contract rule with a real malformed file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from algospace.data import RepairReport, load_bars, load_ticks, sample, validate_bars, validate_ticks
from algospace.errors import DataError, InputError

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD_ROWS = [
    "2019-03-01 14:30:00,100.0,101.0,99.5,100.5,1000",
    "2019-03-01 14:31:00,100.5,100.75,100.0,100.25,800",
    "2019-03-01 14:32:00,100.25,100.5,99.75,100.0,0",
    "2019-03-01 14:33:00,100.0,100.25,99.5,99.75,1200",
]


def _csv(tmp_path, rows, header=HEADER, name="bars.csv"):
    p = tmp_path / name
    p.write_text(header + "".join(r + "\n" for r in rows))
    return p


def _bad(rows_changed: dict[int, str]) -> list[str]:
    rows = list(GOOD_ROWS)
    for i, r in rows_changed.items():
        rows[i] = r
    return rows


def test_good_csv_loads_to_contract(tmp_path):
    bars = load_bars(_csv(tmp_path, GOOD_ROWS))
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert all(bars[c].dtype == np.float64 for c in bars.columns)
    assert str(bars.index.tz) == "UTC" and bars.index.name == "timestamp"
    assert bars.index[0] == pd.Timestamp("2019-03-01 14:30", tz="UTC")
    assert bars["close"].tolist() == [100.5, 100.25, 100.0, 99.75]
    validate_bars(bars)


def test_timezone_and_custom_timestamp_column(tmp_path):
    p = _csv(tmp_path, [r.replace("14:3", "09:3") for r in GOOD_ROWS], header=HEADER.replace("timestamp", "Time").upper().replace("TIME", "Time"))
    bars = load_bars(p, timestamp_column="Time", timezone="America/New_York")
    assert bars.index[0] == pd.Timestamp("2019-03-01 14:30", tz="UTC")  # 09:30 EST = 14:30 UTC


def test_offset_strings_become_utc(tmp_path):
    rows = [r.replace(" 14:3", "T09:3").replace(",100", "-05:00,100", 1) for r in GOOD_ROWS]
    bars = load_bars(_csv(tmp_path, rows))
    assert bars.index[0] == pd.Timestamp("2019-03-01 14:30", tz="UTC")


@pytest.mark.parametrize(
    ("rows", "row", "column", "rule"),
    [
        (_bad({2: "2019-03-01 14:32:00,100.25,100.5,99.75,100.0,-5"}), 2, "volume", "negative volume"),
        (_bad({1: "2019-03-01 14:31:00,100.5,nan,100.0,100.25,800"}), 1, "high", "not finite"),
        (_bad({3: "2019-03-01 14:33:00,100.0,100.25,99.5,inf,1200"}), 3, "close", "not finite"),
        (_bad({1: "2019-03-01 14:31:00,100.5,,100.0,100.25,800"}), 1, "high", "not finite"),
        (_bad({2: "2019-03-01 14:32:00,abc,100.5,99.75,100.0,0"}), 2, "open", "not a number"),
        (_bad({2: "not-a-date,100.25,100.5,99.75,100.0,0"}), 2, "timestamp", "cannot parse"),
        (_bad({3: "2019-03-01 14:32:00,100.0,100.25,99.5,99.75,1200"}), 3, "timestamp", "duplicate"),
        (_bad({2: "2019-03-01 14:29:00,100.25,100.5,99.75,100.0,0"}), 2, "timestamp", "out of order"),
        (_bad({1: "2019-03-01 14:31:00,100.5,100.4,100.0,100.25,800"}), 1, "high", "high < max(open, close)"),
        (_bad({3: "2019-03-01 14:33:00,100.0,100.25,99.8,99.75,1200"}), 3, "low", "low > min(open, close)"),
        (_bad({1: "2019-03-01 14:31:00,0,100.75,0,100.25,800"}), 1, "open", "price <= 0"),
        (_bad({2: "2019-03-01 14:32:00,100.25,100.5,-99.75,100.0,0"}), 2, "low", "price <= 0"),
    ],
)
def test_each_rule_names_file_row_column(tmp_path, rows, row, column, rule):
    p = _csv(tmp_path, rows)
    with pytest.raises(DataError) as ei:
        load_bars(p)
    msg = str(ei.value)
    assert str(p) in msg and f"row {row} (file line {row + 2})" in msg
    assert f"column '{column}'" in msg and rule in msg


def test_missing_column_empty_and_header_only(tmp_path):
    p = _csv(tmp_path, [r.rsplit(",", 1)[0] for r in GOOD_ROWS], header="timestamp,open,high,low,close\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['volume'\]"):
        load_bars(p)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty file"):
        load_bars(empty)
    with pytest.raises(DataError, match="no rows"):
        load_bars(_csv(tmp_path, [], name="header_only.csv"))
    with pytest.raises(DataError, match="file not found"):
        load_bars(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="unknown file type"):
        load_bars(_csv(tmp_path, GOOD_ROWS, name="bars.json"))


def _frame(rows):
    df = pd.DataFrame([r.split(",") for r in rows], columns=HEADER.strip().split(","))
    df["timestamp"] = pd.to_datetime(df["timestamp"]).dt.tz_localize("UTC")
    for c in ["open", "high", "low", "close", "volume"]:
        df[c] = df[c].astype(float)
    return df


def test_parquet_rules(tmp_path):
    good = tmp_path / "good.parquet"
    _frame(GOOD_ROWS).set_index("timestamp").to_parquet(good)  # timestamp as the index
    assert len(load_bars(good)) == 4
    bad = tmp_path / "bad.parquet"
    _frame(_bad({2: "2019-03-01 14:32:00,100.25,100.1,99.75,100.3,0"})).to_parquet(bad)
    with pytest.raises(DataError) as ei:
        load_bars(bad)
    msg = str(ei.value)
    assert str(bad) in msg and "row 2 at 2019-03-01 14:32:00+00:00" in msg and "column 'high'" in msg and "file line" not in msg
    neg = tmp_path / "neg.parquet"
    _frame(_bad({0: "2019-03-01 14:30:00,100.0,101.0,99.5,100.5,-1"})).to_parquet(neg)
    with pytest.raises(DataError, match=r"row 0 .*column 'volume': negative volume"):
        load_bars(neg)
    epoch = tmp_path / "epoch.parquet"
    f = _frame(GOOD_ROWS)
    f["timestamp"] = f["timestamp"].astype("int64") // 10**9 if f["timestamp"].dt.unit == "ns" else f["timestamp"].dt.as_unit("s").astype("int64")
    f.to_parquet(epoch)
    assert load_bars(epoch).index[1] == pd.Timestamp("2019-03-01 14:31", tz="UTC")


def test_repair_drops_exact_duplicates_sorts_and_widens(tmp_path):
    rows = [
        GOOD_ROWS[0],
        GOOD_ROWS[2],  # out of order
        GOOD_ROWS[1],
        GOOD_ROWS[1],  # exact duplicate
        "2019-03-01 14:33:00,100.0,99.9,99.5,99.75,1200",  # high < open
    ]
    p = _csv(tmp_path, rows)
    with pytest.raises(DataError):
        load_bars(p)
    bars, report = load_bars(p, repair=True)
    assert isinstance(report, RepairReport)
    validate_bars(bars)
    assert len(bars) == 4 and bars.index.is_monotonic_increasing
    assert report.rows_in == 5 and report.rows_out == 4
    # Only row 1 (14:32, ahead of two 14:31 rows) moved: the fewest rows that restore time order.
    assert report.counts() == {"moved into time order": 1, "dropped duplicate of row 2": 1, "widened high": 1}
    assert [c.row for c in report.changes if c.action == "moved into time order"] == [1]
    widened = [c for c in report.changes if c.action == "widened high"][0]
    assert (widened.row, widened.old, widened.new) == (4, 99.9, 100.0)
    # Open/close prices are never changed.
    assert bars["open"].tolist() == [100.0, 100.5, 100.25, 100.0]
    assert bars["close"].tolist() == [100.5, 100.25, 100.0, 99.75]
    assert "widened high" in report.summary() and len(report.to_frame()) == 3


def test_repair_refuses_conflicting_duplicates_and_nan(tmp_path):
    p = _csv(tmp_path, GOOD_ROWS + ["2019-03-01 14:33:00,100.0,100.25,99.5,99.5,1200"])
    with pytest.raises(DataError, match="different values"):
        load_bars(p, repair=True)
    p2 = _csv(tmp_path, _bad({1: "2019-03-01 14:31:00,100.5,nan,100.0,100.25,800"}), name="nan.csv")
    with pytest.raises(DataError, match="not finite"):
        load_bars(p2, repair=True)


def test_validate_bars_rejects_bad_frames():
    bars = _frame(GOOD_ROWS).set_index("timestamp")
    validate_bars(bars)
    with pytest.raises(DataError, match="tz-aware UTC"):
        validate_bars(bars.tz_localize(None))
    with pytest.raises(DataError, match="in UTC"):
        validate_bars(bars.tz_convert("America/New_York"))
    with pytest.raises(DataError, match="float64"):
        validate_bars(bars.astype({"volume": "int64"}))
    with pytest.raises(DataError, match="out of order"):
        validate_bars(bars.iloc[::-1])


TICKS = "timestamp,price,volume\n2013-09-01 17:00:00.083,1640.25,8\n2013-09-01 17:00:00.083,1640.25,1\n2013-09-01 17:00:01.500,1640.5,3\n"


def test_load_ticks_and_rules(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(TICKS)
    ticks = load_ticks(p, timezone="America/Chicago")
    assert ticks.index[0] == pd.Timestamp("2013-09-01 22:00:00.083", tz="UTC")
    assert ticks["price"].tolist() == [1640.25, 1640.25, 1640.5] and ticks["volume"].dtype == np.float64
    for bad, rule in [
        (TICKS.replace("17:00:01.500", "16:59:59.000"), "non-decreasing"),
        (TICKS.replace("1640.5,3", "0,3"), "not > 0"),
        (TICKS.replace("1640.5,3", "1640.5,-3"), "negative volume"),
        (TICKS.replace("1640.5,3", "inf,3"), "not finite"),
    ]:
        p.write_text(bad)
        with pytest.raises(DataError, match=rule) as ei:
            load_ticks(p, timezone="America/Chicago")
        assert "row 2 (file line 4)" in str(ei.value)
    p.write_text(TICKS.replace("2013-09-01 17:00:01.500", "2013-03-10 02:30:00"))
    with pytest.raises(DataError, match="does not exist or is ambiguous"):
        load_ticks(p, timezone="America/Chicago")


def test_validate_ticks():
    ticks = sample("es-ticks").iloc[:100]
    validate_ticks(ticks)
    with pytest.raises(DataError, match="row 1, column 'timestamp'.*earlier than the row before"):
        validate_ticks(ticks.iloc[[50, 0]])
    with pytest.raises(DataError, match="missing column"):
        validate_ticks(ticks.rename(columns={"price": "last"}))


@pytest.mark.parametrize(("scale", "unit"), [(1, "s"), (1000, "ms"), (10**6, "us"), (10**9, "ns")])
def test_csv_integer_epoch_timestamps(tmp_path, scale, unit):
    start = 1551450600  # 2019-03-01 14:30:00 UTC
    rows = [f"{(start + 60 * i) * scale}," + r.split(",", 1)[1] for i, r in enumerate(GOOD_ROWS)]
    bars = load_bars(_csv(tmp_path, rows), timezone="America/New_York")  # epoch times are UTC whatever the zone
    assert bars.index.equals(load_bars(_csv(tmp_path, GOOD_ROWS, name="iso.csv")).index), unit
    ticks = tmp_path / "t.csv"
    ticks.write_text(f"timestamp,price,volume\n{start * scale},1640.25,8\n{(start + 1) * scale},1640.5,3\n")
    assert load_ticks(ticks).index[1] == pd.Timestamp("2019-03-01 14:30:01", tz="UTC")


def test_epoch_precision_and_ambiguous_or_mixed_columns(tmp_path):
    ns = 1551450600123456789
    f = _frame(GOOD_ROWS)
    f["timestamp"] = [ns + i for i in range(4)]  # int64 nanoseconds: no float rounding
    f.to_parquet(tmp_path / "ns.parquet")
    assert load_bars(tmp_path / "ns.parquet").index.asi8.tolist() == [ns, ns + 1, ns + 2, ns + 3]
    compact = [f"2019030{i + 1}," + r.split(",", 1)[1] for i, r in enumerate(GOOD_ROWS)]  # YYYYMMDD, not 1970
    with pytest.raises(DataError, match="row 0 .*looks like a compact date"):
        load_bars(_csv(tmp_path, compact, name="compact.csv"))
    mixed = _bad({2: "1551450720," + GOOD_ROWS[2].split(",", 1)[1]})
    with pytest.raises(DataError, match="row 2 .*is an integer epoch time while row 0"):
        load_bars(_csv(tmp_path, mixed, name="mixed.csv"))
    late = [f"{9_999_999_000 + i}," + r.split(",", 1)[1] for i, r in enumerate(GOOD_ROWS)]  # seconds in year 2286
    with pytest.raises(DataError, match="row 0 .*read as s .*outside 1677..2262"):
        load_bars(_csv(tmp_path, late, name="late.csv"))


def test_non_path_arguments_raise_input_error():
    for fn in (load_bars, load_ticks):
        with pytest.raises(InputError, match="Expected a file path.*received NoneType"):
            fn(None)
    with pytest.raises(InputError, match="received int"):
        load_bars(42)
