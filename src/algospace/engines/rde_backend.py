"""The RDE backend of a models set: one recorded fact, chosen at `train core`, used by every path.

Why: the core is trained, and its initiate threshold chosen, on the RDE's regime vectors. A
lower-precision backend (onnxruntime-int8) moves a vector by up to ~1e-2, enough to flip a
decision near the threshold (docs/runtime.md, "RDE backends"). So `train core` computes its
vectors with one backend and records its name in the core's training.json (`rde_backend`);
`eval core`, the runtime (`ModelSet.load`), the demo and the report compute theirs with that
same backend, and an explicit other one is refused. A core recorded before the field existed
was trained on fp32 vectors: it reads as "torch".

The default, "auto", is the fast int8 backend where ONNX Runtime is installed (extra `onnx`),
else fp32 PyTorch; what is recorded is the resolved name, never "auto".
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from algospace.errors import ArtifactError, InputError

FIELD = "rde_backend"  # the key in the core's training.json
AUTO = "auto"
FAST = "onnxruntime-int8"
UNRECORDED = "torch"  # what a core trained before the field existed used (fp32 vectors)
MISMATCH_FLAG = "--allow-backend-mismatch"


def onnx_available() -> bool:
    """Whether the ONNX backends can run here (onnx exports the graph, onnxruntime runs it)."""
    try:
        for name in ("onnx", "onnxruntime"):
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def _known(name: str, what: str) -> str:
    from algospace.engines.rde import BACKENDS

    if name not in BACKENDS:
        raise InputError(f"{what} must be {AUTO} or one of {', '.join(BACKENDS)}; got {name!r}.")
    return name


def require_runnable(backend: str, why: str = "") -> str:
    """`backend`, or a clear InputError when it needs ONNX Runtime and that is not installed."""
    if backend.startswith("onnxruntime") and not onnx_available():
        raise InputError(f"RDE backend {backend!r}{why} needs ONNX Runtime, which is not installed here; install the "
                         "onnx extra: pip install 'algospace[onnx]'.")
    return backend


def resolve_rde_backend(name: str | None = AUTO) -> str:
    """A backend name to train a core with: None or "auto" -> onnxruntime-int8 where ONNX Runtime is
    installed, else torch; any other name is checked to be known and runnable here."""
    if name is None or name == AUTO:
        return FAST if onnx_available() else UNRECORDED
    return require_runnable(_known(name, "--rde-backend"))


def recorded_rde_backend(training: Mapping[str, Any], where: Any = "core/") -> str:
    """The backend the core's training.json records ("torch" for a core recorded before the field)."""
    name = training.get(FIELD) or UNRECORDED
    try:
        return _known(str(name), f"{where} training.json {FIELD}")
    except InputError as exc:
        raise ArtifactError(f"{exc} Retrain the core (algospace train core).") from exc


def rde_backend_for(training: Mapping[str, Any], requested: str | None = None, *, allow_mismatch: bool = False,
                    offer_override: bool = True, where: Any = "core/") -> str:
    """The backend to compute a core's regime vectors with: the recorded one when `requested` is
    None or "auto"; an explicit other one is refused (InputError naming both) unless
    `allow_mismatch` (experiments: the decisions are then no longer the evaluated ones).
    `offer_override`: whether the error names the override flag (eval core has none)."""
    recorded = recorded_rde_backend(training, where)
    if requested is None or requested == AUTO:
        return require_runnable(recorded, f", which {where} was trained with (its training.json {FIELD}),")
    use = _known(requested, "--rde-backend")
    if use != recorded and not allow_mismatch:
        raise InputError(
            f"--rde-backend {use} differs from {recorded}, the RDE backend {where} was trained and thresholded with (its "
            f"training.json {FIELD}); its decisions hold only with that backend. Drop --rde-backend, or retrain the core "
            f"with --rde-backend {use}" + (f", or pass {MISMATCH_FLAG} to experiment." if offer_override else ".")
        )
    return require_runnable(use)


__all__ = ["AUTO", "FAST", "FIELD", "UNRECORDED", "onnx_available", "recorded_rde_backend", "rde_backend_for",
           "require_runnable", "resolve_rde_backend"]
