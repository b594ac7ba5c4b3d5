"""The RDE backend is one recorded fact of a models set (engines.rde_backend): `train core`
records the backend of its regime vectors; eval core, ModelSet.load (backtest, run, the demo)
use it and refuse another; a core recorded before the field loads as torch; and the runtime's
core sees, to the last bit, the regime vectors `train core` / `eval core` computed with it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from algospace.artifacts import save_artifact
from algospace.artifacts.layout import extras_writer
from algospace.data import resolve_instrument
from algospace.engines.rde import RegimeDetectionEngine
from algospace.errors import ArtifactError, InputError
from algospace.models.core import CoreConfig, DecisionCoreModel
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.runtime.deciders import ModelDecider
from algospace.runtime.models import ModelSet
from algospace.runtime.runner import Runtime
from algospace.runtime.sources import ReplaySource
from algospace.engines.rde_backend import recorded_rde_backend, resolve_rde_backend

pytest.importorskip("onnxruntime")
INT8 = "onnxruntime-int8"


def _models_dir(tmp_path: Path, tiny_rde, training: dict | None) -> Path:  # noqa: ANN001
    """rde/ (tiny, trained), a seeded M-RMS and a core whose training.json is `training` (None: no file)."""
    root = tmp_path / "models"
    shutil.copytree(tiny_rde[0], root / "rde")
    torch.manual_seed(0)
    save_artifact(MRMSModel(MRMSConfig()), root / "mrms", kind="mrms", provenance="trained")
    spec = RegimeDetectionEngine.load(root / "rde", device="cpu").manifest.feature_spec_fingerprint
    save_artifact(DecisionCoreModel(CoreConfig()), root / "core", kind="core", provenance="trained",
                  metadata={"feature_spec_fingerprint": spec},
                  write_extra=extras_writer(training=training) if training is not None else None)
    return root


def test_auto_resolves_to_int8_where_onnxruntime_is_installed() -> None:
    assert resolve_rde_backend() == INT8 and resolve_rde_backend(None) == INT8
    assert resolve_rde_backend("torch") == "torch"
    with pytest.raises(InputError, match="must be auto or one of"):
        resolve_rde_backend("int4")


def test_model_set_uses_the_recorded_backend_and_refuses_another(tmp_path: Path, tiny_rde) -> None:  # noqa: ANN001
    root = _models_dir(tmp_path, tiny_rde, {"rde_backend": INT8})
    ms = ModelSet.load(root, device="cpu")
    assert ms.rde_backend == INT8 and ms.rde.backend == INT8
    assert ModelSet.load(root, device="cpu", rde_backend="auto").rde_backend == INT8
    with pytest.raises(InputError, match=r"--rde-backend torch differs from onnxruntime-int8.*--allow-backend-mismatch"):
        ModelSet.load(root, device="cpu", rde_backend="torch")
    assert ModelSet.load(root, device="cpu", rde_backend="torch", allow_backend_mismatch=True).rde_backend == "torch"


def test_a_core_recorded_before_the_field_loads_as_torch(tmp_path: Path, tiny_rde) -> None:  # noqa: ANN001
    root = _models_dir(tmp_path, tiny_rde, {"initiate_threshold": 0.0})  # an older training.json: no rde_backend
    ms = ModelSet.load(root, device="cpu")
    assert ms.rde_backend == "torch" and ms.rde.backend == "torch+onednn"
    with pytest.raises(InputError, match="differs from torch"):
        ModelSet.load(root, device="cpu", rde_backend=INT8)
    shutil.rmtree(root)
    assert ModelSet.load(_models_dir(tmp_path, tiny_rde, None), device="cpu").rde_backend == "torch"  # no training.json


def test_a_recorded_backend_that_cannot_run_here_says_to_install_the_extra(tmp_path: Path, tiny_rde, monkeypatch) -> None:  # noqa: ANN001
    root = _models_dir(tmp_path, tiny_rde, {"rde_backend": INT8})
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the onnx extra were not installed
    with pytest.raises(InputError, match=r"onnxruntime-int8.*trained with.*pip install 'algospace\[onnx\]'"):
        ModelSet.load(root, device="cpu")
    assert resolve_rde_backend() == "torch"  # auto falls back to fp32 PyTorch


def test_an_unknown_recorded_backend_is_an_artifact_error() -> None:
    with pytest.raises(ArtifactError, match="rde_backend"):
        recorded_rde_backend({"rde_backend": "fp8"})


@pytest.fixture(scope="module")
def int8_core(tiny_models, tmp_path_factory):  # noqa: ANN001
    """tiny_models' rde/ and mrms/ with a core trained by `algospace train core` (default backend:
    auto = int8 here), and the rows `eval core` prepares from the recorded backend."""
    from typer.testing import CliRunner

    from algospace.cli import app
    from algospace.data import load_data
    from algospace.training.core_data import prepare_core_data

    src, bars = tiny_models
    root = tmp_path_factory.mktemp("int8-models")
    for kind in ("rde", "mrms"):
        shutil.copytree(src / kind, root / kind)
    bars.to_parquet(root / "bars.parquet")
    r = CliRunner().invoke(app, ["train", "core", "--models", str(root), "--data", str(root / "bars.parquet"),
                                 "--preset", "tiny", "--quiet"])
    assert r.exit_code == 0, r.output + str(r.exception)
    assert "RDE backend onnxruntime-int8 (recorded)" in r.output
    ms = ModelSet.load(root, device="cpu")
    cfg = ms.core.training["train_config"]
    bars = load_data(root / "bars.parquet")  # as `eval core --data` reads it
    data = prepare_core_data(bars, ms.rde, ms.mrms, cfg["train_fraction"], cfg["val_fraction"], cfg["instrument"])
    return root, bars, data, ms


def test_train_core_records_the_resolved_backend(int8_core, tiny_models) -> None:  # noqa: ANN001
    root, _, data, ms = int8_core
    assert data.rde_backend == INT8 and ms.rde_backend == INT8
    assert json.loads((root / "core" / "training.json").read_text())["rde_backend"] == INT8
    # conftest trains tiny_models' core on an RDE loaded with backend "torch": that is what it records
    assert json.loads((tiny_models[0] / "core" / "training.json").read_text())["rde_backend"] == "torch"


def test_eval_core_refuses_another_backend(int8_core, tmp_path: Path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from algospace.cli import app
    from algospace.evaluation.core_eval import evaluate_core

    root, _, data, ms = int8_core
    r = CliRunner().invoke(app, ["eval", "core", "--models", str(root), "--rde-backend", "torch", "--out", str(tmp_path)])
    assert r.exit_code == 1
    msg = r.output + str(r.exception)
    assert "--rde-backend torch differs from onnxruntime-int8" in msg and "--allow-backend-mismatch" not in msg
    with pytest.raises(InputError, match="come from RDE backend onnxruntime-int8.*trained and thresholded on torch"):
        evaluate_core(data, ms.mrms, ms.core.model, {**ms.core.training, "rde_backend": "torch"}, n_boot=10)


class _Recording(ModelDecider):
    """ModelDecider that keeps the regime vector its core was given at each signal."""

    seen: dict[pd.Timestamp, np.ndarray]

    def regime_vector(self) -> np.ndarray | None:
        v = super().regime_vector()
        if v is not None:
            self.seen[self._signal_time] = v
        return v

    def decide(self, signal, account, order_id):  # noqa: ANN001, ANN201
        self._signal_time = signal.time
        return super().decide(signal, account, order_id)


def test_the_runtime_core_sees_the_vectors_train_core_computed(int8_core) -> None:  # noqa: ANN001
    """The rows eval core (and train core: the same builder) prepare with the recorded backend hold,
    at every signal the runtime decides, the regime vector its core is given. int8 ONNX Runtime is deterministic for a given window and session, and both paths run one
    window per call: the vectors are equal to the last bit, not within a tolerance."""
    root, bars, data, ms = int8_core
    seen: dict[pd.Timestamp, np.ndarray] = {}

    def make(bus, inst):  # noqa: ANN001, ANN202
        d = _Recording(bus, ms, inst)
        d.seen = seen
        return d

    Runtime(resolve_instrument(None, bars), make).run(ReplaySource(bars), end_of_data=True)  # as `backtest` does
    times = pd.DatetimeIndex(data.signals.times[data.rows])
    common = [i for i, t in enumerate(times) if t in seen]
    assert len(common) >= 0.9 * len(times) and len(common) > 50
    got = np.stack([seen[times[i]] for i in common])
    np.testing.assert_array_equal(got, data.inputs["regime"][common])
    # and the fp32 vectors differ: the comparison can tell the backends apart
    fp32 = RegimeDetectionEngine.load(root / "rde", device="cpu", backend="torch")
    window = fp32.features(data.market.bars_30m).to_numpy(np.float32)[-fp32.window :]
    assert not np.array_equal(fp32.get_regime_vector(window), ms.rde.get_regime_vector(window))


def test_int8_batches_equal_single_windows(tiny_rde) -> None:  # noqa: ANN001
    """Dynamic quantization scales over the whole input: batched windows run one per call, so a
    window's vector does not depend on its batch (regime_series == get_regime_vector)."""
    e = RegimeDetectionEngine.load(tiny_rde[0], device="cpu", backend=INT8)
    feats = e.features(tiny_rde[1].iloc[:400])
    series = e.regime_series(feats).to_numpy()
    v, t = feats.to_numpy(np.float32), e.window
    single = np.stack([e.get_regime_vector(v[i - t + 1 : i + 1]) for i in range(t - 1, len(v))])
    np.testing.assert_array_equal(series, single)
