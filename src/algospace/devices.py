"""Device resolution for training, engines and artifacts: `auto`, `cpu`, `cuda`, `cuda:N`, `mps`.

A device that was asked for but is not there is an error, never a silent fallback to the CPU:
a trading process that believes it runs on a GPU must not quietly run 10x slower.
"""

from __future__ import annotations

import re

import torch

from algospace.errors import InputError

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn a device name into a `torch.device` that exists on this machine.

    `auto` picks CUDA when present, then MPS, then the CPU.
    """
    name = str(device).strip().lower()
    m = _DEVICE_RE.match(name)
    if m is None or (m.group(2) is not None and m.group(1) != "cuda"):
        raise InputError(
            f"device must be one of 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; received {device!r}."
        )
    kind, index = m.group(1), m.group(2)
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        if not _mps_available():
            raise InputError(
                "device 'mps' was asked for but Apple MPS is not available on this machine "
                f"(torch {torch.__version__}); use device='cpu' or device='auto'."
            )
        return torch.device("mps")
    # cuda / cuda:N
    if not torch.cuda.is_available():
        raise InputError(
            f"device {name!r} was asked for but CUDA is not available (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'none'}); use device='cpu' or device='auto'."
        )
    n = torch.cuda.device_count()
    i = int(index) if index is not None else torch.cuda.current_device()
    if i >= n:
        raise InputError(
            f"device {name!r} was asked for but this machine has {n} CUDA device(s) (cuda:0..cuda:{n - 1}); "
            "pick an existing index or use device='auto'."
        )
    return torch.device("cuda", i)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
