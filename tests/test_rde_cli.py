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
    assert result.exit_code != 0
    assert "Unknown RDE preset" in str(result.exception)
