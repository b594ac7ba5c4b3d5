"""Artifacts: round trips, manifest contents, extra files, opt-in flags, devices, M-RMS model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from algospace.artifacts import (
    FORMAT_VERSION,
    load_artifact,
    read_manifest,
    require_safe_torch,
    save_artifact,
    verify_artifact,
)
from algospace.devices import resolve_device
from algospace.errors import ArtifactError, InputError
from algospace.models import MRMSConfig, MRMSModel, RDEConfig, RegimeVAE

TINY = RDEConfig(input_dim=12, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=8, decoder_hidden=8)


def tiny_rde(seed: int = 0) -> RegimeVAE:
    torch.manual_seed(seed)
    return RegimeVAE(TINY).eval()


def test_rde_round_trip_is_bit_identical(tmp_path: Path) -> None:
    model = tiny_rde()
    meta = {
        "feature_spec_fingerprint": "f" * 64,
        "training_data": {"fingerprint": "d" * 64, "start": "2017-01-03T14:30:00Z", "end": "2019-12-31T21:00:00Z"},
        "training_metrics": {"val_loss": 0.25, "kl": 1.5},
        "seed": 7,
    }
    saved = save_artifact(model, tmp_path / "rde", kind="rde", provenance="trained", metadata=meta)
    loaded, manifest = load_artifact(tmp_path / "rde", device="cpu", kind="rde", feature_spec_fingerprint="f" * 64)
    assert isinstance(loaded, RegimeVAE) and not loaded.training
    assert loaded.config == model.config
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.randn(3, 20, TINY.input_dim)
    with torch.no_grad():
        assert torch.equal(model.encode(x)[0], loaded.encode(x)[0])
    assert manifest == saved and manifest.warnings == ()
    assert manifest.format_version == FORMAT_VERSION and manifest.kind == "rde"
    assert manifest.provenance == "trained" and manifest.seed == 7
    assert manifest.parameter_count == sum(p.numel() for p in model.parameters())
    assert manifest.training_metrics == {"val_loss": 0.25, "kl": 1.5}
    assert manifest.training_data.start.year == 2017 and manifest.torch_version == torch.__version__


def test_non_persistent_buffers_are_not_weights_and_config_is_sorted_json(tmp_path: Path) -> None:
    save_artifact(tiny_rde(), tmp_path / "a", kind="rde", provenance="trained")
    with safe_open(str(tmp_path / "a" / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert "pos_encoder.pe" not in keys and "input_projection.weight" in keys
    text = (tmp_path / "a" / "config.json").read_text()
    cfg = json.loads(text)
    assert list(cfg) == sorted(cfg) and cfg == dataclasses.asdict(TINY)


def test_mrms_round_trip_and_parameter_count(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = MRMSModel(MRMSConfig()).eval()
    assert sum(p.numel() for p in model.parameters()) == 28_745  # the reference's exact count
    save_artifact(model, tmp_path / "m", kind="mrms", provenance="trained")
    loaded, manifest = load_artifact(tmp_path / "m", device="cpu", kind="mrms")
    syn, acc = torch.randn(5, 30), torch.randn(5, 10)
    with torch.no_grad():
        out_a, out_b = model(syn, acc), loaded(syn, acc)
    for ta, tb in zip(out_a, out_b):
        assert torch.equal(ta, tb)
    assert manifest.parameter_count == 28_745


def test_mrms_outputs_have_the_reference_ranges_and_input_order() -> None:
    torch.manual_seed(2)
    model = MRMSModel(MRMSConfig()).eval()
    syn, acc = torch.randn(64, 30) * 10, torch.randn(64, 10) * 10
    with torch.no_grad():
        out = model(syn, acc)
        swapped = model(acc.repeat(1, 3), syn[:, :10])  # same width, other order: other outputs
    assert out.position_logits.shape == (64, 6) and out.value.shape == (64,)
    assert float(out.stop_multiplier.min()) >= 0.5 and float(out.stop_multiplier.max()) <= 3.0
    assert float(out.reward_risk.min()) >= 1.0 and float(out.reward_risk.max()) <= 5.0
    assert not torch.equal(out.position_logits, swapped.position_logits)
    x = torch.cat([syn, acc], dim=-1)
    assert torch.equal(out.position_logits, model.position_agent(x))


def test_extra_files_are_inside_the_artifact_and_verified(tmp_path: Path) -> None:
    spec_dir = tmp_path / "spec_src"
    (spec_dir / "sub").mkdir(parents=True)
    (spec_dir / "spec.json").write_text('{"features": ["a", "b"]}')
    (spec_dir / "sub" / "scaler.npy").write_bytes(b"\x00" * 32)
    note = tmp_path / "note.txt"
    note.write_text("hello")

    def write_extra(d: Path) -> None:
        (d / "calibration.json").write_text('{"k": 1}')

    m = save_artifact(
        tiny_rde(), tmp_path / "a", kind="rde", provenance="trained",
        extra_files={"feature_spec": spec_dir, "docs/note.txt": note}, write_extra=write_extra,
    )
    assert set(m.files) == {
        "model.safetensors", "config.json", "feature_spec/spec.json", "feature_spec/sub/scaler.npy",
        "docs/note.txt", "calibration.json",
    }
    load_artifact(tmp_path / "a", device="cpu")
    (tmp_path / "a" / "feature_spec" / "spec.json").write_text('{"features": ["a", "c"]}')
    with pytest.raises(ArtifactError, match=r"feature_spec/spec.json: sha256 mismatch"):
        load_artifact(tmp_path / "a", device="cpu")
    assert not verify_artifact(tmp_path / "a").ok


@pytest.mark.parametrize("name", ["manifest.json", "../escape", "/abs/path"])
def test_extra_file_names_are_checked(tmp_path: Path, name: str) -> None:
    src = tmp_path / "x.txt"
    src.write_text("x")
    with pytest.raises(ArtifactError, match="relative path inside the artifact"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="rde", provenance="trained", extra_files={name: src})
    assert not (tmp_path / "a").exists()


def test_write_extra_may_not_clobber_reserved_files(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="reserved names"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="rde", provenance="trained",
                      write_extra=lambda d: (d / "config.json").write_text("{}"))
    assert not (tmp_path / "a").exists() and list(tmp_path.iterdir()) == []


def test_overwrite_replaces_and_leaves_no_temp_dirs(tmp_path: Path) -> None:
    save_artifact(tiny_rde(0), tmp_path / "a", kind="rde", provenance="trained", metadata={"seed": 0})
    save_artifact(tiny_rde(1), tmp_path / "a", kind="rde", provenance="trained", metadata={"seed": 1})
    _, m = load_artifact(tmp_path / "a", device="cpu")
    assert m.seed == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_refuses_to_overwrite_a_directory_that_is_not_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.csv").write_text("1,2,3")
    with pytest.raises(ArtifactError, match="not an artifact"):
        save_artifact(tiny_rde(), tmp_path / "data", kind="rde", provenance="trained")
    assert (tmp_path / "data" / "precious.csv").read_text() == "1,2,3"


def test_save_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="Invalid artifact metadata.*sede"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="rde", provenance="trained", metadata={"sede": 1})
    with pytest.raises(ArtifactError, match="provenance must be one of"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="rde", provenance="great")
    with pytest.raises(ArtifactError, match="saves a MRMSModel; received a RegimeVAE"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="mrms", provenance="trained")
    with pytest.raises(ArtifactError, match="Did you mean 'rde'"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="rdee", provenance="trained")
    with pytest.raises(ArtifactError, match="'core'.*no model"):
        save_artifact(tiny_rde(), tmp_path / "a", kind="core", provenance="trained")
    bad = tiny_rde()
    with torch.no_grad():
        bad.fc_mu.net[0].weight[0, 0] = float("nan")
    with pytest.raises(ArtifactError, match=r"NaN/inf values: fc_mu.net.0.weight \(1 of"):
        save_artifact(bad, tmp_path / "a", kind="rde", provenance="trained")
    assert not (tmp_path / "a").exists()


def test_untrained_and_spec_mismatch_are_refused_unless_opted_in_then_flagged(tmp_path: Path) -> None:
    save_artifact(tiny_rde(), tmp_path / "u", kind="rde", provenance="untrained",
                  metadata={"feature_spec_fingerprint": "a" * 64})
    with pytest.raises(ArtifactError, match="untrained"):
        load_artifact(tmp_path / "u", device="cpu")
    _, m = load_artifact(tmp_path / "u", device="cpu", allow_untrained=True)
    assert m.flagged and any(w.startswith("UNTRAINED") for w in m.warnings)
    with pytest.raises(ArtifactError, match="feature spec"):
        load_artifact(tmp_path / "u", device="cpu", allow_untrained=True, feature_spec_fingerprint="b" * 64)
    _, m = load_artifact(tmp_path / "u", device="cpu", allow_untrained=True, feature_spec_fingerprint="b" * 64,
                         allow_spec_mismatch=True)
    assert {w.split(":")[0] for w in m.warnings} == {"UNTRAINED", "SPEC-MISMATCH"}
    # the flags live on the returned object only, never in the stored manifest
    assert "warnings" not in json.loads((tmp_path / "u" / "manifest.json").read_text())
    assert read_manifest(tmp_path / "u").warnings == ()


def test_torch_version_gate() -> None:
    require_safe_torch()  # the installed torch is new enough
    require_safe_torch("2.10.0")
    with pytest.raises(ArtifactError, match="CVE-2026-24747"):
        require_safe_torch("2.9.1")


def test_device_resolution() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    for bad in ("gpu", "cuda:x", "cpu:1", ""):
        with pytest.raises(InputError, match="device must be one of"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            resolve_device("cuda:0")
    else:
        with pytest.raises(InputError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    if not (torch.backends.mps.is_available()):
        with pytest.raises(InputError, match="MPS is not available"):
            resolve_device("mps")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_load_straight_to_cuda_matches_cpu(tmp_path: Path) -> None:
    model = tiny_rde()
    save_artifact(model, tmp_path / "a", kind="rde", provenance="trained")
    gpu, _ = load_artifact(tmp_path / "a", device="cuda")
    assert all(t.device.type == "cuda" for t in gpu.state_dict().values())
    assert gpu.pos_encoder.pe.device.type == "cuda"
    x = torch.randn(4, 24, TINY.input_dim)
    with torch.no_grad():
        ref = model.encode(x)[0]
        out = gpu.encode(x.cuda())[0].cpu()
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_registry_is_extensible_for_the_decision_core(tmp_path: Path) -> None:
    """A later kind registers itself and gets saving, strict loading and checks for free."""
    from algospace.models import registry

    @dataclasses.dataclass(frozen=True)
    class CoreConfig:
        width: int = 4

    class Core(torch.nn.Module):
        def __init__(self, config: CoreConfig) -> None:
            super().__init__()
            self.config = config
            self.policy = torch.nn.Linear(config.width, 2)
            # a fixed table with no rebuild hook: the loader must fall back to a real build
            self.register_buffer("scale", torch.linspace(0.5, 1.5, config.width), persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.policy(x * self.scale)

    assert "core" not in registry.registered_kinds()
    registry.register_model("core", CoreConfig, Core)
    try:
        torch.manual_seed(0)
        core = Core(CoreConfig(width=6)).eval()
        save_artifact(core, tmp_path / "core", kind="core", provenance="trained")
        loaded, manifest = load_artifact(tmp_path / "core", device="cpu", kind="core")
        assert manifest.kind == "core" and loaded.config == CoreConfig(width=6)
        assert not loaded.scale.is_meta and torch.equal(loaded.scale, core.scale)
        x = torch.randn(3, 6)
        assert torch.equal(core(x), loaded(x))
        with pytest.raises(ArtifactError, match="already registered"):
            registry.register_model("core", CoreConfig, MRMSModel)
    finally:
        registry._REGISTRY.pop("core", None)  # leave the process as it was: core has no model yet
    with pytest.raises(ArtifactError, match="no model in this version"):
        load_artifact(tmp_path / "core", device="cpu")
