"""The three models of a run, loaded once from one directory and checked to belong together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algospace.errors import ArtifactError, InputError

KINDS = ("rde", "mrms", "core")
TRAIN_COMMAND = {"rde": "algospace train rde", "mrms": "algospace train mrms", "core": "algospace train core"}


@dataclass(frozen=True)
class ModelSet:
    rde: Any  # RegimeDetectionEngine
    mrms: Any  # RiskManager
    core: Any  # DecisionCore
    path: Path

    @classmethod
    def load(cls, models_dir: str | Path, device: str = "auto", rde_backend: str | None = None,
             allow_backend_mismatch: bool = False) -> "ModelSet":
        """Load `rde/`, `mrms/` and `core/` from `models_dir`, verified by the artifact layer.

        `rde_backend`: None or "auto" (default) = the backend recorded in core/training.json, the
        one the core was trained and thresholded with ("torch" for a core recorded before the
        field); an explicit other backend is refused unless `allow_backend_mismatch` (then the
        decisions are no longer the evaluated ones: experiments only). See `engines.rde_backend`.

        Refused with a clear error: a missing model, an untrained or placeholder one (the artifact
        layer refuses it), models whose recorded feature specs differ, another RDE backend than the
        recorded one, and a recorded backend that cannot run here (ONNX Runtime missing).
        """
        from algospace.engines.core import DecisionCore
        from algospace.engines.mrms import RiskManager
        from algospace.engines.rde import RegimeDetectionEngine
        from algospace.engines.rde_backend import rde_backend_for

        root = Path(models_dir)
        if not root.is_dir():
            raise InputError(f"--models {root}: not a directory; expected a directory holding rde/, mrms/ and core/ "
                             "(make demo writes runs/demo/models).")
        missing = [k for k in KINDS if not (root / k).is_dir()]
        if missing:
            hints = "; ".join(f"{k}/: {TRAIN_COMMAND[k]} --out {root / k}" for k in missing)
            raise ArtifactError(f"models directory {root} lacks {', '.join(k + '/' for k in missing)}. Train: {hints}.")
        core = DecisionCore.load(root / "core", device=device)
        backend = rde_backend_for(core.training, rde_backend, allow_mismatch=allow_backend_mismatch, where=root / "core")
        rde = RegimeDetectionEngine.load(root / "rde", device=device, backend=backend)
        mrms = RiskManager.load(root / "mrms", device=device)
        # the core records the RDE spec it was trained on and the rde/ and mrms/ weights it used
        spec_rde, spec_core = rde.manifest.feature_spec_fingerprint, core.manifest.feature_spec_fingerprint
        if spec_core and spec_rde and spec_core != spec_rde:
            raise ArtifactError(
                f"models in {root}: core/ was trained on feature spec {spec_core[:12]} but rde/ uses {spec_rde[:12]}; all "
                "models of a run must share the RDE's spec. Retrain the core against this rde/ (algospace train core "
                f"--models {root})."
            )
        for kind, engine in (("rde", rde), ("mrms", mrms)):
            used = (core.training.get(kind) or {}).get("files", {}).get("model.safetensors")
            have = engine.manifest.files.get("model.safetensors")
            if used and have and used != have:
                raise ArtifactError(
                    f"models in {root}: core/ was trained with another {kind}/ (weights {used[:12]}, found {have[:12]}); "
                    f"its labels and inputs came from that model. Retrain the core: algospace train core --models {root}."
                )
        return cls(rde, mrms, core, root)

    @property
    def rde_backend(self) -> str:
        """The RDE backend in use (a `engines.rde.BACKENDS` name)."""
        return str(getattr(self.rde, "backend_name", "torch"))

    def hashes(self) -> dict[str, str]:
        """sha256 of each model's weights (from the verified manifests)."""
        return {k: str(getattr(self, k).manifest.weights_sha256) for k in KINDS}
