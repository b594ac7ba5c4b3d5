"""DecisionCore: load a trained decision-core artifact; qualify signals and gate trades.

The engine owns what the pure model does not: loading and verifying the artifact, the device,
input validation (shapes, finiteness), Monte-Carlo sampling and the thresholds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from algospace.errors import InputError
from algospace.models.core import CoreConfig, CoreInputs, DecisionCoreModel

MC_PASSES = 50  # the reference's Monte-Carlo dropout passes
INITIATE_THRESHOLD = 0.65  # the reference: proceed when mean P(initiate) >= 0.65
EXECUTE_THRESHOLD = 0.5  # the gate executes when p > 0.5


@dataclass(frozen=True)
class Decision:
    """What the core says about one signal."""

    initiate: bool  # mean P(initiate) >= the threshold
    confidence: float  # mean P(initiate) over the MC passes
    uncertainty: float  # standard deviation of P(initiate) over the passes
    passes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _array(value: Any, shape: tuple[int, ...], field: str) -> np.ndarray:
    """`value` as a finite float32 array of exactly `shape` (or a batch of it); InputError naming the field."""
    try:
        a = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"DecisionCore: {field} must be numeric with shape {shape}; received {type(value).__name__}.") from exc
    if a.shape != shape:
        raise InputError(f"DecisionCore: {field} must have shape {shape}; received {a.shape}.")
    if not np.isfinite(a).all():
        raise InputError(f"DecisionCore: {field} holds NaN or inf; build it from complete bars (after the warm-up).")
    return a


class DecisionCore:
    """Qualify a trade signal ("initiate" or not, with MC-dropout confidence) and gate the trade.

    Example:
        >>> core = DecisionCore.load("runs/demo/models/core")
        >>> d = core.decide(m30=w30, m5=w5, regime=vec, lvn=lvn5, synergy=syn30)
        >>> if d.initiate and core.gate(risk_vector) : ...
    """

    def __init__(self, model: DecisionCoreModel, manifest: Any, device: torch.device, *, passes: int = MC_PASSES,
                 threshold: float = INITIATE_THRESHOLD, seed: int = 0) -> None:
        if not isinstance(passes, int) or passes < 1:
            raise InputError(f"DecisionCore: passes must be an int >= 1; received {passes!r}.")
        if not 0.0 <= threshold < 1.0:
            raise InputError(f"DecisionCore: threshold must be in [0, 1); received {threshold!r}.")
        self.model = model.eval()
        self.manifest = manifest
        self.device = device
        self.passes = passes
        self.threshold = float(threshold)
        self.config: CoreConfig = model.config
        # MC dropout draws masks from this generator only, so a decision does not depend on (or
        # disturb) the caller's global torch RNG, and a backtest repeats exactly.
        self._generator = torch.Generator(device=device).manual_seed(seed)
        self._state: torch.Tensor | None = None
        self.training: dict[str, Any] = {}  # the artifact's training record (split, thresholds, models used)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", *, passes: int | None = None,
             threshold: float | None = None, allow_untrained: bool = False,
             feature_spec_fingerprint: str | None = None) -> "DecisionCore":
        """Load and verify a decision-core artifact directory (kind "core").

        `passes` and `threshold` default to what training recorded (`training.json`:
        `mc_passes`, `initiate_threshold`, the threshold chosen on the validation period),
        else the reference's 50 passes and 0.65.
        """
        from algospace.artifacts import load_artifact
        from algospace.artifacts.layout import read_training

        model, manifest = load_artifact(path, device=device, kind="core", allow_untrained=allow_untrained,
                                        feature_spec_fingerprint=feature_spec_fingerprint)
        training = read_training(Path(path))
        passes = int(training.get("mc_passes", MC_PASSES)) if passes is None else passes
        threshold = float(training.get("initiate_threshold", INITIATE_THRESHOLD)) if threshold is None else threshold
        core = cls(model, manifest, next(model.parameters()).device, passes=passes, threshold=threshold)
        core.training = training
        return core

    def inputs(self, m30: Any, m5: Any, regime: Any, lvn: Any, synergy: Any) -> CoreInputs:
        """Validate one signal's inputs and make the (1, ...) tensors the model reads."""
        c = self.config
        arrays = (
            _array(m30, (c.m30_window, c.m30_features), "m30"),
            _array(m5, (c.m5_window, c.m5_features), "m5"),
            _array(regime, (c.regime_dim,), "regime"),
            _array(lvn, (c.lvn_dim,), "lvn"),
            _array(synergy, (c.synergy_dim,), "synergy"),
        )
        return CoreInputs(*(torch.from_numpy(a).unsqueeze(0).to(self.device) for a in arrays))

    def decide(self, m30: Any, m5: Any, regime: Any, lvn: Any, synergy: Any) -> Decision:
        """One signal -> Decision; the MC passes run as one batched forward pass."""
        x = self.inputs(m30, m5, regime, lvn, synergy)
        with torch.inference_mode():
            state = self.model.embed(x)  # (1, state_dim)
            logits = self.model.policy_logits(state, self.passes, self._generator)  # (P, 1, 2)
            p = torch.softmax(logits, dim=-1)[..., 1]  # (P, 1)
        self._state = state
        conf, std = float(p.mean()), float(p.std(unbiased=False))
        return Decision(conf >= self.threshold, conf, std, self.passes)

    def gate(self, risk: Any) -> float:
        """P(execute) for the last decided signal's state plus the 8-value risk vector."""
        if self._state is None:
            raise InputError("DecisionCore.gate: call decide(...) for the signal first; the gate reads its state.")
        r = _array(risk, (self.config.risk_dim,), "risk")
        with torch.inference_mode():
            logit = self.model.gate_logit(self._state, torch.from_numpy(r).unsqueeze(0).to(self.device))
        return float(torch.sigmoid(logit)[0])
