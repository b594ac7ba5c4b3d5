"""`algospace models {inspect,verify,list,import-legacy}` through the real CLI app."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from artifact_edits import resign
from typer.testing import CliRunner

from algospace.artifacts import save_artifact
from algospace.artifacts.layout import extras_writer
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
    assert r.exit_code != 0 and isinstance(r.exception, ArtifactError) and "no legacy key mapping" in str(r.exception)
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "missing")])
    assert r.exit_code != 0 and isinstance(r.exception, ArtifactError)


@pytest.mark.parametrize("cmd", ["inspect", "verify", "list", "import-legacy"])
def test_help_has_an_example(cmd: str) -> None:
    r = runner.invoke(app, ["models", cmd, "--help"])
    assert r.exit_code == 0 and "Example: algospace models" in r.output


def _break_config(path: Path, **changes: object) -> None:
    import json

    cfg = json.loads((path / "config.json").read_text())
    cfg.update(changes)
    (path / "config.json").write_text(json.dumps(cfg))
    resign(path)


def _nan_weights(path: Path) -> None:
    from safetensors.torch import load_file, save_file

    t = load_file(str(path / "model.safetensors"))
    t["input_projection.weight"][0, 0] = float("nan")
    save_file(t, str(path / "model.safetensors"))
    resign(path)


def _truncate_weights(path: Path) -> None:
    w = path / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    resign(path)


@pytest.mark.parametrize("n_heads", [7, 0])
def test_verify_reports_a_bad_config_without_a_traceback(tmp_path: Path, n_heads: int) -> None:
    _rde(tmp_path / "a")
    _break_config(tmp_path / "a", n_heads=n_heads)
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "a")])
    assert r.exit_code != 0 and isinstance(r.exception, ArtifactError), repr(r.exception)
    assert "FAILED" in r.output and "n_heads" in r.output


def test_list_status_is_honest(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _rde(runs / "good")
    for name, breaker in (("nan", _nan_weights), ("badcfg", lambda p: _break_config(p, dropout=2.0)),
                          ("trunc", _truncate_weights)):
        _rde(runs / name)
        breaker(runs / name)
    r = runner.invoke(app, ["models", "list", str(runs)])
    assert r.exit_code == 0, r.output
    assert "4 artifact(s), 3 failed verification" in r.output
    assert r.output.count("FAILED") == 3 and r.output.count("verified") >= 1
    r = runner.invoke(app, ["models", "list", "--no-verify", str(runs)])
    assert r.exit_code == 0, r.output
    assert "FAILED" not in r.output and r.output.count("manifest ok") == 4 and "manifests only" in r.output
    assert "│ ok " not in r.output


@pytest.fixture(scope="module")
def fitted_spec():
    from algospace.data import make_bars, sample
    from algospace.features import FeatureSpec

    bars = sample("spy-1m")
    bars30 = make_bars(bars.iloc[:20_000], 30, "SPY")
    return FeatureSpec.default().fit(bars30)


def _rde_with_spec(path: Path, spec, fingerprint: str | None) -> None:
    torch.manual_seed(0)
    cfg = RDEConfig(input_dim=spec.width, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=8, decoder_hidden=8)
    save_artifact(RegimeVAE(cfg), path, kind="rde", provenance="trained",
                  metadata={"feature_spec_fingerprint": fingerprint}, write_extra=extras_writer(feature_spec=spec))


def test_verify_checks_the_stored_feature_spec(tmp_path: Path, fitted_spec) -> None:
    _rde_with_spec(tmp_path / "good", fitted_spec, fitted_spec.fingerprint)
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "good")])
    assert r.exit_code == 0 and "feature spec" in r.output and "verified" in r.output, r.output

    _rde_with_spec(tmp_path / "other", fitted_spec, "e" * 64)  # manifest names another spec
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "other")])
    assert r.exit_code != 0 and "FAILED feature spec" in r.output and "eeeeeeee" in r.output, r.output

    _rde_with_spec(tmp_path / "edited", fitted_spec, fitted_spec.fingerprint)
    f = tmp_path / "edited" / "feature_spec" / "feature_spec.json"
    f.write_text(f.read_text().replace('"fingerprint": "', '"fingerprint": "0', 1))  # a re-signed edit
    resign(tmp_path / "edited")
    r = runner.invoke(app, ["models", "verify", str(tmp_path / "edited")])
    assert r.exit_code != 0 and "FAILED feature spec" in r.output, r.output
