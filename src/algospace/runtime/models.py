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
    def load(cls, models_dir: str | Path, device: str = "auto") -> "ModelSet":
        """Load `rde/`, `mrms/` and `core/` from `models_dir`, verified by the artifact layer.

        Refused with a clear error: a missing model, an untrained or placeholder one (the artifact
        layer refuses it), and models whose recorded feature specs differ.
        """
        from algospace.engines.core import DecisionCore
        from algospace.engines.mrms import RiskManager
        from algospace.engines.rde import RegimeDetectionEngine

        root = Path(models_dir)
        if not root.is_dir():
            raise InputError(f"--models {root}: not a directory; expected a directory holding rde/, mrms/ and core/ "
                             "(make demo writes runs/demo/models).")
        missing = [k for k in KINDS if not (root / k).is_dir()]
        if missing:
            hints = "; ".join(f"{k}/: {TRAIN_COMMAND[k]} --out {root / k}" for k in missing)
            raise ArtifactError(f"models directory {root} lacks {', '.join(k + '/' for k in missing)}. Train: {hints}.")
        rde = RegimeDetectionEngine.load(root / "rde", device=device)
        mrms = RiskManager.load(root / "mrms", device=device)
        core = DecisionCore.load(root / "core", device=device)
        specs = {k: getattr(m.manifest, "feature_spec_fingerprint", None) for k, m in (("rde", rde), ("mrms", mrms), ("core", core))}
        recorded = {k: v for k, v in specs.items() if v}
        if len(set(recorded.values())) > 1:
            detail = ", ".join(f"{k} {v[:12]}" for k, v in recorded.items())
            raise ArtifactError(
                f"models in {root} were trained on different feature specs ({detail}); all models of a run must share "
                "the RDE's spec. Retrain the others against this rde/ (algospace train mrms/core --models ...)."
            )
        return cls(rde, mrms, core, root)

    def hashes(self) -> dict[str, str]:
        """sha256 of each model's weights (from the verified manifests)."""
        return {k: str(getattr(getattr(self, k).manifest, "weights_sha256", "")) for k in KINDS}
