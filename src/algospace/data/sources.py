"""One entry point for "a data file or a sample name", as CLIs accept it (`--data FILE|SAMPLE`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from algospace.data.loaders import detect_kind, load_bars, load_ticks
from algospace.data.samples import _REGISTRY, _resolve, is_sample, sample


def load_data(source: str | Path, *, repair: bool | None = None) -> pd.DataFrame:
    """Bars or ticks from a bundled sample name (spy-1m, es-ticks) or a CSV/Parquet path.

    Bar files load with `repair` (default: the config's `data.repair`); the repair report is
    logged, not returned (use `load_bars(..., repair=True)` to get it). The frame's
    `attrs["kind"]` is "bars" or "ticks"; samples also set `attrs["instrument"]`.

    Example: ``bars = load_data("spy-1m")``
    """
    from algospace.config import get_config

    text = str(source)
    if is_sample(text):
        return sample(text)
    if not Path(text).exists() and not Path(text).suffix:
        _resolve(text)  # no such file and no suffix: most likely a mistyped sample name
    kind = detect_kind(text)
    if kind == "ticks":
        frame = load_ticks(text)
    else:
        do_repair = get_config().data.repair if repair is None else repair
        frame = load_bars(text, repair=True)[0] if do_repair else load_bars(text)
    frame.attrs = {"kind": kind, "source": text}
    return frame


__all__ = ["load_data"]
