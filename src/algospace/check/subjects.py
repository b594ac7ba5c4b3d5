"""One adapter per model kind: its engine, its real input rows, its outputs on them, one call
through its public API, and the malformed calls it must refuse.

`outputs` runs the loaded model on chosen rows (optionally perturbed) and returns a (rows, d)
array of what the model answers; sampling (the core's MC dropout) uses a fixed generator so
two runs differ only by their inputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from algospace.check.inputs import MarketData

Perturb = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def zeroed(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.zeros_like(x)


def shuffled(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's values in a random order (time and features mixed): the row's content, scrambled."""
    flat = x.reshape(len(x), -1).copy()
    for row in flat:
        rng.shuffle(row)
    return flat.reshape(x.shape)


PERTURBATIONS: dict[str, Perturb] = {"zeroed": zeroed, "shuffled": shuffled}


@dataclass
class Subject(ABC):
    """What the checks need of one model; subclasses fill `inputs` from real data."""

    kind: str
    engine: Any
    times: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([], tz="UTC"))
    inputs: dict[str, Any] = field(default_factory=dict)  # name -> (N, ...) array (or view)
    perturbed: tuple[str, ...] = ()  # which inputs the perturbations scramble

    @property
    def n_rows(self) -> int:
        return len(self.times)

    def rows(self, rows: np.ndarray, perturb: Perturb | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        out = {k: np.ascontiguousarray(v[rows]) for k, v in self.inputs.items()}
        if perturb is not None:
            for k in self.perturbed:
                out[k] = perturb(out[k], rng).astype(out[k].dtype)
        return out

    def outputs(self, rows: np.ndarray, perturb: Perturb | None = None) -> np.ndarray:
        return self.run(self.rows(rows, perturb))

    # --- per kind -------------------------------------------------------------------------
    @abstractmethod
    def run(self, x: dict[str, np.ndarray]) -> np.ndarray:  # (rows, d)
        ...

    @abstractmethod
    def range_problem(self, y: np.ndarray) -> str | None:
        ...

    @abstractmethod
    def call_one(self, i: int) -> Any:
        ...

    @abstractmethod
    def bad_calls(self, i: int) -> dict[str, Callable[[], Any]]:
        ...

    def reference(self, rows: np.ndarray) -> np.ndarray:
        """Deterministic outputs for comparing devices (no sampling)."""
        return self.outputs(rows)


def _beyond(y: np.ndarray, lo: float, hi: float, what: str) -> str | None:
    bad = (y < lo) | (y > hi)
    if bad.any():
        return f"{int(bad.sum())} {what} values outside [{lo:g}, {hi:g}] (e.g. {float(y[bad][0]):.4g})"
    return None


class RDESubject(Subject):
    """Windows of the RDE's own features (its stored spec) -> regime vectors."""

    def __init__(self, engine: Any, data: MarketData) -> None:
        from algospace.features.regime.window import window_view

        super().__init__("rde", engine, perturbed=("window",))
        feats = engine.features(data.frame)
        values = feats.to_numpy(np.float32)
        t = engine.window
        self.inputs = {"window": window_view(values, t)}
        self.times = pd.DatetimeIndex(feats.index[t - 1:])

    def run(self, x: dict[str, np.ndarray]) -> np.ndarray:
        return self.engine.get_regime_vectors(x["window"])

    def range_problem(self, y: np.ndarray) -> str | None:
        from algospace.models.registry import get_model_spec

        limit = get_model_spec("rde").probe_limit
        return _beyond(y, -limit, limit, "regime-vector")

    def skill(self, rows: np.ndarray) -> dict[str, float] | None:
        """Reconstruction against the input-blind baseline (training's own measure), or None when
        the model was trained on another target (then training.json's metrics are the record)."""
        from algospace.training.rde import evaluate_windows

        if self.engine.training.get("target", "window") != "window":
            return None
        return evaluate_windows(self.engine.model, self.rows(rows)["window"], beta=0.0)

    def call_one(self, i: int) -> Any:
        return self.engine.get_regime_vector(np.ascontiguousarray(self.inputs["window"][i]))

    def bad_calls(self, i: int) -> dict[str, Callable[[], Any]]:
        w = np.ascontiguousarray(self.inputs["window"][i])
        nan, inf = w.copy(), w.copy()
        nan[-1, 0], inf[0, -1] = np.nan, np.inf
        return {
            f"shape {w[:, :-1].shape} (one feature short)": lambda: self.engine.get_regime_vector(w[:, :-1]),
            f"shape {w[0].shape} (rank 1)": lambda: self.engine.get_regime_vector(w[0]),
            "a NaN in the window": lambda: self.engine.get_regime_vector(nan),
            "an inf in the window": lambda: self.engine.get_regime_vector(inf),
        }


class MRMSSubject(Subject):
    """Real synergy vectors + a fresh account's vector -> size probabilities, stop, reward:risk."""

    def __init__(self, engine: Any, data: MarketData) -> None:
        from algospace.sim import PropFirmAccount

        super().__init__("mrms", engine, perturbed=("synergy",))
        data.build_market()
        sigs = data.signals
        ok = np.flatnonzero(np.isfinite(sigs.vectors).all(axis=1) & (sigs.atr > 0) & np.isfinite(sigs.atr))
        self.account = PropFirmAccount(engine.account_config).vector().astype(np.float32)
        self.inputs = {"synergy": sigs.vectors[ok].astype(np.float32), "close": sigs.close[ok], "atr": sigs.atr[ok],
                       "direction": sigs.directions[ok]}
        self.times = pd.DatetimeIndex(sigs.times[ok])

    def run(self, x: dict[str, np.ndarray]) -> np.ndarray:
        n = len(x["synergy"])
        logits, stop, rr = self.engine.network(np.concatenate([x["synergy"], np.repeat(self.account[None], n, 0)], 1))
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.column_stack([z / z.sum(axis=1, keepdims=True), stop, rr])

    def range_problem(self, y: np.ndarray) -> str | None:
        c = self.engine.model.config
        k = c.n_sizes
        return (_beyond(y[:, :k], 0.0, 1.0, "size-probability")
                or _beyond(y[:, k], c.stop_multiplier_min, c.stop_multiplier_max, "stop-multiplier")
                or _beyond(y[:, k + 1], c.reward_risk_min, c.reward_risk_max, "reward:risk"))

    def qualification(self, i: int, synergy: Any = None) -> Any:
        from algospace.engines.mrms import TradeQualification

        return TradeQualification(
            synergy_vector=self.inputs["synergy"][i] if synergy is None else synergy, account=self.account,
            entry_price=float(self.inputs["close"][i]), direction="LONG" if self.inputs["direction"][i] > 0 else "SHORT",
            atr=float(self.inputs["atr"][i]), instrument="ES")

    def call_one(self, i: int) -> Any:
        return self.engine.generate_risk_proposal(self.qualification(i))

    def bad_calls(self, i: int) -> dict[str, Callable[[], Any]]:
        s = self.inputs["synergy"][i]
        nan, inf = s.copy(), s.copy()
        nan[0], inf[-1] = np.nan, np.inf
        return {
            f"synergy_vector of {len(s) - 1} values": lambda: self.engine.generate_risk_proposal(self.qualification(i, s[:-1])),
            "a NaN in synergy_vector": lambda: self.engine.generate_risk_proposal(self.qualification(i, nan)),
            "an inf in synergy_vector": lambda: self.engine.generate_risk_proposal(self.qualification(i, inf)),
        }


CORE_INPUTS = ("m30", "m5", "regime", "lvn", "synergy")


class CoreSubject(Subject):
    """Real signals' 30- and 5-minute matrices, LVN summary, regime vector (from rde/) and
    synergy vector -> mean and spread of P(initiate) over the MC passes."""

    def __init__(self, engine: Any, data: MarketData, rde: Any) -> None:
        from algospace.features.core_inputs import core_inputs
        from algospace.training.core_data import regime_at

        super().__init__("core", engine, perturbed=CORE_INPUTS)
        m = data.build_market()
        sigs = data.signals
        frames = data.core_frames()
        m30, m5, lvn, pos30, ok = core_inputs(frames, sigs.times)
        regime = regime_at(rde, m.bars_30m, pos30, data.frame)
        ok &= np.isfinite(regime).all(axis=1) & np.isfinite(sigs.vectors).all(axis=1)
        rows = np.flatnonzero(ok)
        arrays = (m30, m5, regime, lvn, sigs.vectors)
        self.inputs = {k: np.asarray(a[rows], np.float32) for k, a in zip(CORE_INPUTS, arrays)}
        self.times = pd.DatetimeIndex(sigs.times[rows])

    def _tensors(self, x: dict[str, np.ndarray]) -> Any:
        from algospace.models.core import CoreInputs

        return CoreInputs(*(torch.from_numpy(x[k]).to(self.engine.device) for k in CORE_INPUTS))

    def run(self, x: dict[str, np.ndarray]) -> np.ndarray:
        gen = torch.Generator(device=self.engine.device).manual_seed(0)
        with torch.inference_mode():
            state = self.engine.model.embed(self._tensors(x))
            p = torch.softmax(self.engine.model.policy_logits(state, self.engine.passes, gen), dim=-1)[..., 1]  # (P, B)
        return torch.stack([p.mean(0), p.std(0, unbiased=False)], 1).cpu().numpy()

    def reference(self, rows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            state = self.engine.model.embed(self._tensors(self.rows(rows)))
            return torch.softmax(self.engine.model.policy_logits(state), dim=-1).cpu().numpy()

    def range_problem(self, y: np.ndarray) -> str | None:
        return _beyond(y[:, 0], 0.0, 1.0, "P(initiate)") or _beyond(y[:, 1], 0.0, 0.5, "P(initiate) spread")

    def call_one(self, i: int) -> Any:
        return self.engine.decide(*(self.inputs[k][i] for k in CORE_INPUTS))

    def bad_calls(self, i: int) -> dict[str, Callable[[], Any]]:
        good = {k: self.inputs[k][i].copy() for k in CORE_INPUTS}

        def with_(name: str, value: np.ndarray) -> Callable[[], Any]:
            return lambda: self.engine.decide(**{**good, name: value})

        nan, inf = good["m5"].copy(), good["regime"].copy()
        nan[-1, 0], inf[0] = np.nan, np.inf
        return {
            f"m30 of shape {good['m30'][:-1].shape} (one bar short)": with_("m30", good["m30"][:-1]),
            f"synergy of {len(good['synergy']) + 1} values": with_("synergy", np.append(good["synergy"], 0.0)),
            "a NaN in m5": with_("m5", nan),
            "an inf in regime": with_("regime", inf),
        }
