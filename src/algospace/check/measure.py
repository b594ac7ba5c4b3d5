"""Measurements on a Subject: output sanity, latency and memory growth.

Each function returns numbers and a verdict; `run.py` turns them into report rows.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np

from algospace.check.subjects import PERTURBATIONS, Subject

MIN_PERIOD_EFFECT = 0.1  # period means must differ by >= 0.1 pooled standard deviations
MIN_READ_CHANGE = 0.05  # a scrambled input must move outputs by >= 5 % of their spread across rows
MIN_ABS = 1e-6  # below this a difference is rounding, not a response
MAX_TRACED_GROWTH = 1 << 20  # bytes of Python-heap growth allowed over the memory calls (1 KiB per call)
MAX_RSS_GROWTH = 64 << 20  # bytes of resident-set growth allowed over the memory calls


def period_effect(calm: np.ndarray, volatile: np.ndarray) -> tuple[float, float]:
    """(largest |difference of period means| in pooled standard deviations, largest absolute difference)."""
    diff = np.abs(calm.mean(0) - volatile.mean(0))
    pooled = np.sqrt((calm.var(0) + volatile.var(0)) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = np.where(diff > MIN_ABS, diff / np.maximum(pooled, 1e-12), 0.0)
    return float(effect.max()), float(diff.max())


def read_changes(subject: Subject, rows: np.ndarray, base: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per perturbation: (mean |output change| relative to the outputs' spread across rows, mean |change|)."""
    spread = float(base.std(0).mean())
    out = {}
    for name, fn in PERTURBATIONS.items():
        moved = float(np.abs(subject.outputs(rows, fn) - base).mean())
        out[name] = (moved / spread if spread > 0 else (np.inf if moved > MIN_ABS else 0.0), moved)
    return out


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    calls: int


def latency(subject: Subject, rows: np.ndarray, calls: int, warmup: int = 20) -> Latency:
    """Wall time of single calls through the engine's public API on real rows."""
    for i in range(warmup):
        subject.call_one(int(rows[i % len(rows)]))
    ns = np.empty(calls)
    for i in range(calls):
        r = int(rows[i % len(rows)])
        t0 = time.perf_counter_ns()
        subject.call_one(r)
        ns[i] = time.perf_counter_ns() - t0
    return Latency(float(np.percentile(ns, 50) / 1e6), float(np.percentile(ns, 99) / 1e6), calls)


def _rss() -> int | None:
    """Resident set size in bytes (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class MemoryGrowth:
    traced_bytes: int  # Python-heap growth (tracemalloc; numpy buffers included, torch's C++ heap not)
    rss_bytes: int | None  # resident-set growth (everything, allocator noise included)
    calls: int

    @property
    def ok(self) -> bool:
        return self.traced_bytes <= MAX_TRACED_GROWTH and (self.rss_bytes is None or self.rss_bytes <= MAX_RSS_GROWTH)


def memory_growth(subject: Subject, rows: np.ndarray, calls: int, warmup: int = 50) -> MemoryGrowth:
    """Growth of memory over `calls` single calls after a warm-up (caches filled)."""
    for i in range(warmup):
        subject.call_one(int(rows[i % len(rows)]))
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        rss0, traced0 = _rss(), tracemalloc.get_traced_memory()[0]
        for i in range(calls):
            subject.call_one(int(rows[i % len(rows)]))
        traced1, rss1 = tracemalloc.get_traced_memory()[0], _rss()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return MemoryGrowth(traced1 - traced0, None if rss0 is None or rss1 is None else rss1 - rss0, calls)
