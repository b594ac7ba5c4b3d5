"""How many intra-op CPU threads an engine call uses, chosen for tail latency on a busy machine.

Why: an intra-op thread that waits at a barrier for a core held by another process (a data
feed, a broker API, another model) turns a 3 ms window into a 180 ms one: measured on the
2-core machine with one competing CPU-bound process, the default backend's single-window p99
was 188 ms with 2 threads and 5.9 ms with 1 (docs/benchmarks.md). One window (B = 1) is too
small to share among threads anyway, so it runs on one thread; a batch has the rows to keep
every core busy, so it uses them all.

The policy is applied per call and undone after it: the caller's own `torch.set_num_threads`
setting is restored, so an engine never changes the threads of the rest of the process.
ONNX Runtime cannot change its thread count per call, so its backend keeps one session per
thread count (`threads_for` says which applies).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from algospace.config import ThreadPolicy, get_config
from algospace.errors import InputError

__all__ = ["ThreadPolicy", "available_cores", "intra_op_threads", "resolve_policy", "threads_for"]


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. under taskset or a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity call
        return os.cpu_count() or 1


def resolve_policy(policy: ThreadPolicy | None) -> ThreadPolicy:
    """`policy`, or the configuration's `engine.threads` (defaults: 1 thread per window, all cores per batch)."""
    if policy is None:
        return get_config().engine.threads
    if not isinstance(policy, ThreadPolicy):
        raise InputError(f"threads must be an algospace.ThreadPolicy (e.g. ThreadPolicy(single=1)) or None; got {policy!r}.")
    return policy


def threads_for(policy: ThreadPolicy, windows: int) -> int:
    """Intra-op threads for a call on `windows` windows: `single` for one, `batch` (all cores when unset) for more."""
    if windows <= 1:
        return policy.single
    return policy.batch if policy.batch is not None else available_cores()


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads, then restore the caller's count (even on error).

    Under OpenMP torch keeps the count per OS thread (a thread that has not set one starts
    from the last value set anywhere), so the save and restore happen on the calling thread.
    """
    before = torch.get_num_threads()
    if n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def aoti_threads(n: int) -> Iterator[None]:
    """Build AOTInductor code inside this block for `n` OpenMP threads.

    Why: inductor writes `#pragma omp parallel num_threads(N)` with N fixed at compile time
    (torch.get_num_threads() unless `cpp.threads` is set), and the clause overrides the count
    set per call. The AOTI path serves single windows, so it is compiled for `policy.single`.
    """
    import torch._inductor.config as inductor_config

    with inductor_config.patch({"cpp.threads": n}):
        yield
