"""Checks that keep unsafe or broken weights out: torch version, non-finite values.

torch < 2.10 has CVE-2026-24747 in its weights-only unpickler, the one path by which
`import-legacy` reads .pth files, so every load, save and import checks the running torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.torch_version import TorchVersion

from algospace.errors import ArtifactError

MIN_TORCH = "2.10"


def require_safe_torch(version: str | None = None) -> None:
    """Raise unless torch (or `version`, for checking a given string) is >= 2.10."""
    v = TorchVersion(version if version is not None else torch.__version__)
    if v < MIN_TORCH:
        raise ArtifactError(
            f"torch {v} is too old to read model files safely: versions before {MIN_TORCH} have CVE-2026-24747 "
            f"in the weights-only unpickler. Upgrade with `pip install 'torch>={MIN_TORCH}'`."
        )


def non_finite_keys(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of floating-point tensors holding NaN or inf, with how many such values."""
    bad: list[str] = []
    for name, t in tensors.items():
        if t.is_floating_point() or t.is_complex():
            finite = torch.isfinite(t)
            if not bool(finite.all()):
                n = int((~finite).sum())
                bad.append(f"{name} ({n} of {t.numel()} values NaN/inf)")
    return bad
