"""`algospace check`: a readiness check that cannot be fooled. Tiny trained models pass; each
forgery or breakage below fails, with the reason named in the row that catches it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from algospace.check import Status, run_check
from algospace.check.inputs import MarketData
from algospace.check.render import html_page
from algospace.cli import app
from artifact_edits import edit_weights, resign

FAST = {"latency_calls": 20, "memory_calls": 50, "device": "cpu"}


@pytest.fixture(scope="module")
def market(tiny_models):
    return MarketData.load(tiny_models[1])


@pytest.fixture()
def models(tiny_models, tmp_path) -> Path:
    """A private copy of the tiny models, free to break."""
    return Path(shutil.copytree(tiny_models[0], tmp_path / "models"))


def failed(report, model: str | None = None) -> dict[str, str]:
    """'model section/name' -> detail of every failed row (of `model`)."""
    return {f"{r.model} {r.section}/{r.name}": r.detail for r in report.rows
            if r.status is Status.FAIL and (model is None or r.model == model)}


def test_tiny_trained_models_pass_every_check(tiny_models, market, tmp_path) -> None:
    report = run_check(tiny_models[0], market, device="auto")  # the real counts: 200 latency, 1,000 memory calls
    assert report.ok, failed(report)
    sections = {(r.model, r.section) for r in report.rows}
    for kind in ("rde", "mrms", "core"):
        for section in ("integrity", "provenance", "size", "input probes", "output sanity", "speed and memory", "devices",
                        "evaluation"):
            assert (kind, section) in sections
    assert ("set", "compatibility") in sections
    cuda = [r for r in report.rows if r.name == "cuda"]
    assert len(cuda) == 3 and all(r.status is (Status.PASS if torch.cuda.is_available() else Status.NOT_TESTED) for r in cuda)
    if not torch.cuda.is_available():
        assert "not tested" in report.verdict and all("ready" not in r.detail.lower() for r in cuda)
    memory = [r for r in report.rows if r.name == "memory growth"]
    assert all(r.values["calls"] == 1000 for r in memory)
    latency = {r.model: r.values for r in report.rows if r.name == "latency (CPU)"}
    assert all(0 < v["p50_ms"] <= v["p99_ms"] for v in latency.values())
    # the JSON and the page carry the same rows; the page fetches nothing
    d = report.to_dict()
    assert json.loads(json.dumps(d))["ok"] is True and len(d["rows"]) == len(report.rows)
    page = html_page(report)
    assert "READY" in page and page.count("<tr class=") == len(report.rows)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) and "http://" not in page and "https://" not in page


def test_cli_exit_codes_json_and_html(tiny_models, tmp_path) -> None:
    models, bars = tiny_models
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    html = tmp_path / "check.html"
    res = CliRunner().invoke(app, ["check", str(models), "--data", str(data), "--device", "cpu", "--json", "-",
                                   "--html", str(html), "--quiet"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["ok"] and payload["verdict"].startswith("READY")
    assert html.read_text().startswith("<!DOCTYPE html>")
    # usage error: 2; a failing directory: 1 with one line on stderr saying what and what to do
    assert CliRunner().invoke(app, ["check", str(tmp_path / "nope")]).exit_code == 2
    broken = Path(shutil.copytree(models, tmp_path / "broken"))
    shutil.rmtree(broken / "mrms")
    res = CliRunner().invoke(app, ["check", str(broken), "--data", str(data), "--device", "cpu", "--quiet"])
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1 and "mrms/ is missing" in res.stderr and "algospace train mrms" in res.stderr


def test_random_weights_fail(models, market) -> None:
    """Dummy weights never pass: signed 'trained' they fail on skill; stated as untrained, on provenance."""
    from algospace.models.rde import RegimeVAE
    from algospace.engines.rde import RegimeDetectionEngine

    config = RegimeDetectionEngine.load(models / "rde", device="cpu").model.config
    torch.manual_seed(1)
    fresh = RegimeVAE(config).state_dict()
    edit_weights(models / "rde", lambda t: t.update({k: fresh[k].clone() for k in t}))
    bad = failed(run_check(models, market, **FAST))
    assert "beats input-blind" in " ".join(bad) and "input-blind mean" in bad["rde output sanity/beats input-blind"]
    assert "core/ was trained with another rde/" in bad["set compatibility/loads as one set"]

    m = json.loads((models / "rde" / "manifest.json").read_text())
    (models / "rde" / "manifest.json").write_text(json.dumps({**m, "provenance": "untrained"}))
    bad = failed(run_check(models, market, **FAST), "rde")
    assert "provenance 'untrained'" in bad["rde provenance/trained by algospace"]


def test_placeholder_file_fails(models, market) -> None:
    """The reference's placeholder weights: a few bytes where the model should be (plain, then re-signed)."""
    (models / "mrms" / "model.safetensors").write_bytes(b"placeholder: weights go here\n")
    bad = failed(run_check(models, market, **FAST))
    assert "sha256 mismatch" in bad["mrms integrity/checksums"]
    resign(models / "mrms")
    bad = failed(run_check(models, market, **FAST))
    assert "not a readable safetensors file" in bad["mrms integrity/load"]
    skipped = [r for r in run_check(models, market, **FAST).rows if r.model == "mrms" and r.status is Status.SKIPPED]
    assert {r.section for r in skipped} >= {"input probes", "output sanity"}


def test_tampered_weights_fail(models, market) -> None:
    raw = bytearray((models / "core" / "model.safetensors").read_bytes())
    raw[-64:] = bytes(64)  # the last tensor's bytes, header intact: a loader without checksums would not notice
    (models / "core" / "model.safetensors").write_bytes(bytes(raw))
    bad = failed(run_check(models, market, **FAST))
    assert "model.safetensors: sha256 mismatch" in bad["core integrity/checksums"]


def test_input_blind_model_fails(models, market) -> None:
    """An RDE whose input projection is zero answers every window alike (re-signed, provenance intact)."""
    edit_weights(models / "rde", lambda t: t["input_projection.weight"].zero_())
    report = run_check(models, market, **FAST)
    bad = failed(report, "rde")
    assert "the output ignores its input" in bad["rde output sanity/reads its input"]
    assert "answers a calm and a volatile month alike" in bad["rde output sanity/differs across periods"]
    assert not any(r.status is Status.FAIL for r in report.rows if r.model == "rde" and r.section == "integrity")


def test_feature_spec_mismatch_fails(models, market) -> None:
    m = json.loads((models / "core" / "manifest.json").read_text())
    (models / "core" / "manifest.json").write_text(json.dumps({**m, "feature_spec_fingerprint": "f" * 64}))
    bad = failed(run_check(models, market, **FAST))
    assert "core/ records ffffffffffff" in bad["set compatibility/feature spec"]
    assert "feature spec" in bad["set compatibility/loads as one set"]


def test_missing_model_fails(models, market) -> None:
    shutil.rmtree(models / "core")
    report = run_check(models, market, **FAST)
    bad = failed(report)
    assert "core/ is missing" in bad["core integrity/present"]
    assert "algospace train core" in next(r.remedy for r in report.rows if r.name == "present")
    assert not report.ok and report.verdict.startswith("NOT READY")


def test_legacy_import_fails_provenance(models, market) -> None:
    """Weights of the original system, imported (provenance legacy-import), are not ready however they load."""
    m = json.loads((models / "mrms" / "manifest.json").read_text())
    legacy = {"file_name": "mrms_agent.pth", "sha256": "0" * 64, "layout": "model_state_dict"}
    (models / "mrms" / "manifest.json").write_text(json.dumps({**m, "provenance": "legacy-import", "legacy": legacy}))
    bad = failed(run_check(models, market, **FAST), "mrms")
    assert "provenance 'legacy-import'" in bad["mrms provenance/trained by algospace"]
