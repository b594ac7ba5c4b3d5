"""`algospace train rde` and `algospace models verify` on what it wrote, end to end."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from algospace.cli import app


def test_train_rde_cli_writes_a_verified_trained_artifact(tmp_path):
    from algospace.data import sample

    bars = sample("spy-1m")
    data = tmp_path / "spy_2017h1.parquet"
    bars.loc[bars.index < "2017-07-01"].reset_index().to_parquet(data)
    out = tmp_path / "rde"
    runner = CliRunner()
    result = runner.invoke(app, ["train", "rde", "--data", str(data), "--instrument", "SPY", "--preset", "tiny",
                                 "--seed", "3", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "RDE trained" in result.output and "active latent dims" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["provenance"] == "trained" and manifest["seed"] == 3
    training = json.loads((out / "training.json").read_text())
    assert training["instrument"] == "SPY"
    verify = runner.invoke(app, ["models", "verify", str(out)])
    assert verify.exit_code == 0, verify.output


def test_train_rde_cli_rejects_unknown_preset(tmp_path):
    result = CliRunner().invoke(app, ["train", "rde", "--preset", "huge", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2  # a usage error: the choices are checked before any work
    assert "'huge'" in result.output


def test_infer_rde_cli_writes_the_engines_regime_series(tiny_rde, tmp_path):
    import numpy as np
    import pandas as pd

    from algospace.engines.rde import RegimeDetectionEngine

    artifact, bars30 = tiny_rde
    data = tmp_path / "bars30.parquet"
    bars30.iloc[-300:].reset_index().to_parquet(data)
    out = tmp_path / "sub" / "regimes.parquet"
    result = CliRunner().invoke(app, ["infer", "rde", "--artifact", str(artifact), "--data", str(data), "--device", "cpu",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "torch+onednn" in result.output
    written = pd.read_parquet(out)
    expected = RegimeDetectionEngine.load(artifact, device="cpu", backend="torch-eager").regime_series(bars30.iloc[-300:])
    assert list(written.columns) == list(expected.columns) and (written.index == expected.index).all()
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy(), atol=1e-5)


def test_infer_rde_cli_refuses_an_unknown_backend(tiny_rde, tmp_path):
    artifact, _ = tiny_rde
    result = CliRunner().invoke(app, ["infer", "rde", "--artifact", str(artifact), "--backend", "tensorrt",
                                      "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2  # a usage error, before the artifact is loaded
    assert "'tensorrt'" in result.output
    assert not (tmp_path / "x.parquet").exists()
