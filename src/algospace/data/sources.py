"""One entry point for "a data file or a sample name", as CLIs accept it (`--data FILE|SAMPLE`).

`open_source` is the single resolver behind `load_data` (the public entry point) and
`algospace.data.info.describe`: a bundled sample name wins, then an existing file; a name
that is neither a file nor has a suffix is taken as a mistyped sample name ("did you mean").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from algospace.data.bars import RepairReport
from algospace.data.loaders import detect_kind, load_bars, load_ticks
from algospace.data.samples import _resolve, is_sample, sample
from algospace.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class Source:
    """A loaded source: the frame, "bars"/"ticks", a display name, and the repair report (bar
    files loaded with repair and the SPY sample; None otherwise)."""

    frame: pd.DataFrame
    kind: str
    name: str
    report: RepairReport | None = None


def open_source(source: str | os.PathLike[str], *, repair: bool, **read: Any) -> Source:
    """Load a bundled sample by name or a CSV/Parquet file; bar files repaired when `repair`.

    `read` passes the file-reading options on (timestamp_column, timezone, format, dayfirst; see
    `load_bars`); samples ignore them. Samples always come repaired (see
    `algospace.data.samples`). The frame's `attrs` hold `kind`, `source`, `format` and `notes`
    (files) or `sample`, `instrument` and `kind` (samples).
    """
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"Expected a bundled sample name (e.g. spy-1m) or a path to a CSV/Parquet file; received {type(source).__name__} {source!r}."
        )
    text = str(source)
    if is_sample(text):
        given = sorted(k for k, v in read.items() if v is not None and not (k == "format" and v == "auto"))
        if given:
            raise InputError(f"{text} is a bundled sample; {', '.join(given)} only apply to files (drop them, or pass a file).")
        key = text.strip().lower()
        frame, report = sample(key, return_report=True)
        return Source(frame, frame.attrs["kind"], f"sample:{key}", report)
    if not Path(text).exists() and not Path(text).suffix:
        _resolve(text)  # no such file and no suffix: most likely a mistyped sample name
    read = {k: v for k, v in read.items() if v is not None}
    kind = detect_kind(text, read.get("timestamp_column"), read.get("format", "auto"))
    report: RepairReport | None = None
    if kind == "ticks":
        frame = load_ticks(text, **read)
    elif repair:
        frame, report = load_bars(text, repair=True, **read)
    else:
        frame = load_bars(text, **read)
    frame.attrs = {"kind": kind, "source": text, "format": frame.attrs.get("format"), "notes": frame.attrs.get("notes", [])}
    return Source(frame, kind, text, report)


def load_data(source: str | os.PathLike[str], *, repair: bool | None = None, **read: Any) -> pd.DataFrame:
    """Bars or ticks from a bundled sample name (spy-1m, es-ticks) or a CSV/Parquet path.

    Bar files load with `repair` (default: the config's `data.repair`); the repair report's
    summary is logged at INFO level (logger `algospace.data.sources`), not returned (use
    `load_bars(..., repair=True)` to get it). The frame's `attrs["kind"]` is "bars" or
    "ticks"; samples also set `attrs["instrument"]`. `read`: timestamp_column, timezone, format,
    dayfirst (see `load_bars`).

    Example: ``bars = load_data("spy-1m")``
    """
    from algospace.config import get_config

    do_repair = get_config().data.repair if repair is None else repair
    src = open_source(source, repair=do_repair, **read)
    if src.report is not None:
        log.info("load_data repair report: %s", src.report.summary())
    return src.frame


__all__ = ["Source", "open_source", "load_data"]
