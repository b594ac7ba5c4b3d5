"""Block-bootstrap intervals for statistics of time series (R^2 gains, Sharpe differences, ...).

Written here rather than taken from `arch.bootstrap` (which has the same moving-block scheme)
to keep the `eval` extra light: it is twenty lines of numpy. The circular moving-block
bootstrap (Politis & Romano 1992) resamples whole blocks of consecutive rows, so the serial
dependence inside a block survives, which an i.i.d. bootstrap of daily errors would destroy.
Paired statistics (two models on the same days) must pass both series in one call, so that
every resample takes the same days for both. Independent series pooled in one statistic (the
same experiment run under several seeds) pass `groups`: blocks are then drawn inside each
group, so no block spans two series and each group keeps its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from algospace.errors import InputError


@dataclass(frozen=True)
class BootstrapInterval:
    estimate: float  # the statistic on the original sample
    low: float
    high: float
    level: float
    block: int
    n_boot: int

    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


def block_indices(n: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """One circular moving-block resample of range(n): ceil(n / block) blocks, cut to n rows."""
    starts = rng.integers(0, n, size=-(-n // block))
    return ((starts[:, None] + np.arange(block)[None, :]) % n).ravel()[:n]


def group_positions(groups: np.ndarray | None, n: int) -> list[np.ndarray]:
    """The row positions of each group (in group order, rows in their original order); all rows without groups."""
    if groups is None:
        return [np.arange(n)]
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise InputError(f"groups must be one label per row, shape ({n},); got shape {groups.shape}.")
    return [np.flatnonzero(groups == g) for g in np.unique(groups)]


def block_bootstrap(
    statistic: Callable[..., float], *arrays: np.ndarray, block: int | None = None,
    n_boot: int = 2000, level: float = 0.90, seed: int = 0, groups: np.ndarray | None = None,
) -> BootstrapInterval:
    """Percentile interval of `statistic(*arrays)` under the circular moving-block bootstrap.

    All arrays share their first axis (time) and are resampled with the same indices.
    `groups` (one label per row): resample each group's rows on their own (circular blocks
    within the group, its length kept) and concatenate the groups in sorted label order; a
    statistic that needs the group of a row gets it by passing the labels as one of `arrays`.
    `block` defaults to n ** (1/3) rounded up (n: the smallest group's length), the usual rate
    for a variance-type statistic.
    """
    if not arrays:
        raise InputError("block_bootstrap needs at least one array.")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays) or n < 2:
        raise InputError(f"Arrays must share a length >= 2; got lengths {[len(a) for a in arrays]}.")
    if not 0.0 < level < 1.0:
        raise InputError(f"level must lie in (0, 1); got {level}.")
    positions = group_positions(groups, n)
    shortest = min(len(p) for p in positions)
    block = int(block) if block is not None else int(np.ceil(shortest ** (1 / 3)))
    if not 1 <= block <= shortest:
        where = "" if groups is None else " (the shortest group's length)"
        raise InputError(f"block must lie in [1, {shortest}]{where}; got {block}.")
    rng = np.random.default_rng(seed)
    arrays = tuple(np.asarray(a) for a in arrays)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([p[block_indices(len(p), block, rng)] for p in positions])
        stats[b] = statistic(*(a[idx] for a in arrays))
    tail = (1.0 - level) / 2.0
    low, high = np.nanquantile(stats, [tail, 1.0 - tail])
    return BootstrapInterval(float(statistic(*arrays)), float(low), float(high), level, block, n_boot)
