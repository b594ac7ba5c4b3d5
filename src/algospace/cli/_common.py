"""Helpers shared by CLI sub-apps: reading bar data given as a file path or a sample name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from algospace.errors import InputError


def read_bars(data: str, instrument: str | None = None) -> pd.DataFrame:
    """`data` is a bundled sample name (e.g. spy-1m) or a CSV/Parquet bar file."""
    from algospace.config import get_config
    from algospace.data import load_bars, sample, samples

    names = [s.name if hasattr(s, "name") else s["name"] for s in samples()]
    if data in names:
        frame = sample(data)
        return frame[0] if isinstance(frame, tuple) else frame
    path = Path(data)
    if not path.exists():
        raise InputError(f"--data {data!r} is neither a file nor a bundled sample ({', '.join(names)}).")
    cfg = get_config().data
    out = load_bars(path, timestamp_column=cfg.timestamp_column, timezone=cfg.timezone, repair=cfg.repair)
    return out[0] if isinstance(out, tuple) else out
