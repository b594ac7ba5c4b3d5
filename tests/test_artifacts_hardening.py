"""Artifacts an adversary or an accident produced: broken-but-finite weights, links, FIFOs,
unlisted files, and wrong argument types, each refused with a clear ArtifactError/InputError."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from artifact_edits import edit_weights
from typer.testing import CliRunner

from algospace.artifacts import load_artifact, verify_artifact
from algospace.cli import app
from algospace.engines.rde import RegimeDetectionEngine
from algospace.errors import ArtifactError, InputError

runner = CliRunner()


def _copy(tiny_rde, tmp_path: Path, name: str = "rde") -> Path:
    src, _ = tiny_rde
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def _failed(report) -> str:
    return " | ".join(f"{c.name}: {c.detail}" for c in report.checks if not c.ok)


@pytest.mark.timeout(120)
def test_weights_scaled_by_1e30_fail_verify_load_and_list(tiny_rde, tmp_path: Path) -> None:
    path = _copy(tiny_rde, tmp_path / "runs")
    edit_weights(path, lambda ts: ts.update({k: v * 1e30 for k, v in ts.items() if v.is_floating_point()}))

    report = verify_artifact(path)
    assert not report.ok and "probe input with NaN/inf" in _failed(report), _failed(report)
    with pytest.raises(ArtifactError, match="probe input"):
        load_artifact(path, device="cpu")
    with pytest.raises(ArtifactError, match="probe input"):
        RegimeDetectionEngine.load(path, device="cpu")
    r = runner.invoke(app, ["models", "verify", str(path)])
    assert r.exit_code != 0 and "verified" not in r.output.replace("failed verification", ""), r.output
    r = runner.invoke(app, ["models", "list", str(tmp_path / "runs")])
    assert "FAILED" in r.output and "1 failed verification" in r.output, r.output


def test_absurd_but_finite_outputs_are_refused(tiny_rde, tmp_path: Path) -> None:
    """Weights scaled so the output is finite but far beyond any regime vector (|mu| > 1e4)."""
    path = _copy(tiny_rde, tmp_path)
    edit_weights(path, lambda ts: ts["fc_mu.net.3.bias"].add_(1e6))
    with pytest.raises(ArtifactError, match="beyond the plausible"):
        load_artifact(path, device="cpu")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("target", ["model.safetensors", "config.json", "feature_spec"])
def test_symlinks_are_refused_and_named(tiny_rde, tmp_path: Path, target: str) -> None:
    path = _copy(tiny_rde, tmp_path)
    outside = tmp_path / "outside"
    shutil.move(path / target, outside)
    os.symlink(outside, path / target)  # the same bytes, but outside what the artifact vouches for
    report = verify_artifact(path)
    assert not report.ok and f"{target}: a symbolic link to {outside}" in _failed(report), _failed(report)
    assert "missing" not in _failed(report)
    with pytest.raises(ArtifactError, match="symbolic link"):
        load_artifact(path, device="cpu")


@pytest.mark.timeout(60)
def test_link_to_dev_zero_and_fifo_are_named_not_missing_and_never_read(tiny_rde, tmp_path: Path) -> None:
    path = _copy(tiny_rde, tmp_path)
    (path / "config.json").unlink()
    os.symlink("/dev/zero", path / "config.json")  # reading it would never end
    (path / "model.safetensors").unlink()
    os.mkfifo(path / "model.safetensors")  # opening it would block forever
    report = verify_artifact(path)
    failed = _failed(report)
    assert "config.json: a symbolic link to /dev/zero" in failed and "model.safetensors: a FIFO" in failed, failed
    assert "missing" not in failed
    with pytest.raises(ArtifactError, match="FIFO"):
        load_artifact(path, device="cpu")
    r = runner.invoke(app, ["models", "verify", str(path)])
    assert r.exit_code != 0 and "FIFO" in r.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["link to /dev/zero", "FIFO"])
def test_a_manifest_that_is_not_a_regular_file_is_named(tiny_rde, tmp_path: Path, kind: str) -> None:
    path = _copy(tiny_rde, tmp_path)
    (path / "manifest.json").unlink()
    if kind == "FIFO":
        os.mkfifo(path / "manifest.json")
    else:
        os.symlink("/dev/zero", path / "manifest.json")
    expected = r"a FIFO \(named pipe\)" if kind == "FIFO" else "a symbolic link to /dev/zero"
    with pytest.raises(ArtifactError, match=f"manifest.json is {expected}, not a regular file"):
        load_artifact(path, device="cpu")
    assert re.search(expected, _failed(verify_artifact(path)))


@pytest.mark.parametrize("extra", ["evil.py", "model.pth", "feature_spec/extra.json"])
def test_files_the_manifest_does_not_cover_fail_verify_unless_allowed(tiny_rde, tmp_path: Path, extra: str) -> None:
    path = _copy(tiny_rde, tmp_path)
    (path / extra).write_text("import os  # nobody vouches for this\n")
    report = verify_artifact(path)
    assert not report.ok and extra in _failed(report) and "not covered by the manifest" in _failed(report)
    assert verify_artifact(path, allow_extra=True).ok
    r = runner.invoke(app, ["models", "verify", str(path)])
    assert r.exit_code != 0 and extra in r.output, r.output
    r = runner.invoke(app, ["models", "verify", "--allow-extra", str(path)])
    assert r.exit_code == 0 and "verified" in r.output and extra in r.output, r.output


@pytest.mark.parametrize("bad", [None, 42, 3.5, b"runs/rde", ["runs/rde"]])
def test_load_with_a_non_path_is_an_input_error(bad) -> None:
    with pytest.raises(InputError, match="path of its directory"):
        RegimeDetectionEngine.load(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="path of its directory"):
        load_artifact(bad)  # type: ignore[arg-type]


def test_unknown_kind_is_named_with_the_valid_ones(tiny_rde) -> None:
    path, _ = tiny_rde
    with pytest.raises(ArtifactError, match=r"Unknown model kind 'bogus'; expected one of rde, mrms, core"):
        load_artifact(path, kind="bogus")
    with pytest.raises(ArtifactError, match="holds a 'rde' model, but a 'mrms' model was asked for"):
        load_artifact(path, kind="mrms")
