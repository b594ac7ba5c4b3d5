"""`algospace models {inspect,verify,list,import-legacy}` through the real CLI app."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from algospace.artifacts import save_artifact
from algospace.cli import app
from algospace.errors import ArtifactError
from algospace.models import MRMSConfig, MRMSModel, RDEConfig, RegimeVAE

runner = CliRunner()
TINY = RDEConfig(input_dim=12, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=8, decoder_hidden=8)


def _legacy_mrms(path: Path) -> OrderedDict[str, torch.Tensor]:
    torch.manual_seed(0)
    sd = OrderedDict((k, v.clone()) for k, v in MRMSModel(MRMSConfig()).state_dict().items())
    torch.save({"model_state_dict": sd, "epoch": 12, "val_loss": 0.3}, path)
    return sd


def _rde(path: Path, provenance: str = "trained") -> None:
    torch.manual_seed(0)
    save_artifact(RegimeVAE(TINY), path, kind="rde", provenance=provenance,
                  metadata={"feature_spec_fingerprint": "ab" * 32, "training_metrics": {"val_loss": 0.42}, "seed": 3})


def test_import_legacy_then_inspect_verify_list(tmp_path: Path) -> None:
    src = tmp_path / "mrms.pth"
    _legacy_mrms(src)
    out = tmp_path / "runs" / "mrms-legacy"
    r = runner.invoke(app, ["models", "import-legacy", str(src), "--kind", "mrms", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "provenance legacy-import" in r.output and "28,745 parameters" in r.output

    r = runner.invoke(app, ["models", "inspect", str(out)])
    assert r.exit_code == 0, r.output
    for text in ("mrms", "legacy-import", "28,745", "checksums", "files match", "LEGACY-IMPORT", "mrms.pth"):
        assert text in r.output, text

    r = runner.invoke(app, ["models", "verify", str(out)])
    assert r.exit_code == 0 and "verified" in r.output, r.output
    r = runner.invoke(app, ["models", "verify", "--require-trained", str(out)])
    assert r.exit_code != 0 and isinstance(r.exception, ArtifactError)

    _rde(tmp_path / "runs" / "nested" / "rde-1")
    (tmp_path / "runs" / ".rde-1.tmp-99999999-x").mkdir()  # a killed save's leftover: not listed
    (tmp_path / "runs" / ".rde-1.tmp-99999999-x" / "manifest.json").write_text("{}")
    r = runner.invoke(app, ["models", "list", str(tmp_path / "runs")])
    assert r.exit_code == 0, r.output
    assert "2 artifact(s)" in r.output and "rde" in r.output and "tmp-" not in r.output


def test_inspect_shows_training_summary(tmp_path: Path) -> None:
    _rde(tmp_path / "a")
    r = runner.invoke(app, ["models", "inspect", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    for text in ("rde", "trained", "abababab", "val_loss=0.42", "seed", "3"):
        assert text in r.output, text


def test_verify_fails_on_a_flipped_byte(tmp_path: Path) -> None:
    _rde(tmp_path / "a")
    w = tmp_path / "a" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "a")])
    assert r.exit_code != 0
    assert "FAILED" in r.output and "sha256 mismatch" in r.output
    assert isinstance(r.exception, ArtifactError) and "failed verification" in str(r.exception)
    r = runner.invoke(app, ["models", "inspect", str(tmp_path / "a")])
    assert r.exit_code == 0 and "FAILED" in r.output


def test_inspect_legacy_files(tmp_path: Path) -> None:
    src = tmp_path / "mrms.pth"
    _legacy_mrms(src)
    r = runner.invoke(app, ["models", "inspect", str(src)])
    assert r.exit_code == 0, r.output
    for text in ("torch-zip", "checkpoint", "model_state_dict", "28,745", "mrms", "epoch=12"):
        assert text in r.output, text
    ph = tmp_path / "placeholder.pth"
    ph.write_bytes(pickle.dumps({"weights": "placeholder_weights_for_mrms"}))
    r = runner.invoke(app, ["models", "inspect", str(ph)])
    assert r.exit_code == 0 and "placeholder" in r.output


def test_import_legacy_errors_are_artifact_errors(tmp_path: Path) -> None:
    src = tmp_path / "mrms.pth"
    _legacy_mrms(src)
    r = runner.invoke(app, ["models", "import-legacy", str(src), "--kind", "core", "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and isinstance(r.exception, ArtifactError) and "no model" in str(r.exception)
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "missing")])
    assert r.exit_code != 0 and isinstance(r.exception, ArtifactError)


@pytest.mark.parametrize("cmd", ["inspect", "verify", "list", "import-legacy"])
def test_help_has_an_example(cmd: str) -> None:
    r = runner.invoke(app, ["models", cmd, "--help"])
    assert r.exit_code == 0 and "Example: algospace models" in r.output
