"""A corpus of bad artifacts, each a real file built here: every one is refused with the right
ArtifactError, a message naming the problem, and the process stays healthy."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from artifact_edits import edit_weights, resign

from algospace.artifacts import load_artifact, save_artifact, verify_artifact
from algospace.errors import ArtifactError
from algospace.models import MRMSConfig, MRMSModel, RDEConfig, RegimeVAE

TINY = RDEConfig(input_dim=12, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=8, decoder_hidden=8)
FP = "f" * 64


def _good(path: Path, provenance: str = "trained") -> Path:
    torch.manual_seed(0)
    save_artifact(RegimeVAE(TINY), path, kind="rde", provenance=provenance,
                  metadata={"feature_spec_fingerprint": FP})
    return path


def _edit_manifest(path: Path, **changes: object) -> None:
    m = json.loads((path / "manifest.json").read_text())
    m.update(changes)
    (path / "manifest.json").write_text(json.dumps(m))


def placeholder_pickle(p: Path) -> None:
    _good(p)
    (p / "model.safetensors").write_bytes(pickle.dumps({"weights": "placeholder_weights_for_rde"}))
    resign(p)


def truncated_safetensors(p: Path) -> None:
    _good(p)
    data = (p / "model.safetensors").read_bytes()
    (p / "model.safetensors").write_bytes(data[: len(data) // 2])
    resign(p)


def flipped_byte(p: Path) -> None:
    _good(p)
    data = bytearray((p / "model.safetensors").read_bytes())
    data[-7] ^= 0x01
    (p / "model.safetensors").write_bytes(bytes(data))


def missing_key(p: Path) -> None:
    edit_weights(_good(p), lambda t: t.pop("fc_mu.net.3.bias"))


def unexpected_key(p: Path) -> None:
    edit_weights(_good(p), lambda t: t.update({"head.extra.weight": torch.zeros(2, 2)}))


def wrong_shape(p: Path) -> None:
    edit_weights(_good(p), lambda t: t.update({"fc_mu.net.3.weight": torch.zeros(9, 8)}))


def nan_weight(p: Path) -> None:
    def poison(t: dict[str, torch.Tensor]) -> None:
        t["input_projection.weight"][3, 4] = float("nan")

    edit_weights(_good(p), poison)


def inf_weight(p: Path) -> None:
    def poison(t: dict[str, torch.Tensor]) -> None:
        t["transformer.layers.0.norm1.weight"][0] = float("inf")

    edit_weights(_good(p), poison)


def future_format(p: Path) -> None:
    _edit_manifest(_good(p), format_version=99)


def malformed_manifest(p: Path) -> None:
    _good(p)
    (p / "manifest.json").write_text('{"format_version": 1, "kind": "rde",')


def malformed_config(p: Path) -> None:
    _good(p)
    (p / "config.json").write_text('{"d_model": 16,, }')
    resign(p)


def unknown_config_field(p: Path) -> None:
    _good(p)
    cfg = json.loads((p / "config.json").read_text())
    cfg["n_experts"] = 4
    (p / "config.json").write_text(json.dumps(cfg))
    resign(p)


def _edit_config(p: Path, **changes: object) -> None:
    """Change config.json values and re-sign: the config checks (not the checksums) must catch it."""
    cfg = json.loads((p / "config.json").read_text())
    cfg.update(changes)
    (p / "config.json").write_text(json.dumps(cfg))
    resign(p)


def heads_not_dividing(p: Path) -> None:
    _edit_config(_good(p), n_heads=7)  # d_model 16: torch's attention asserts without the range check


def zero_heads(p: Path) -> None:
    _edit_config(_good(p), n_heads=0)


def dropout_above_one(p: Path) -> None:
    _edit_config(_good(p), dropout=2.0)


def huge_max_len(p: Path) -> None:
    _edit_config(_good(p), max_len=10**9)  # would allocate a 10**9 x 16 positional table


def odd_d_model(p: Path) -> None:
    _edit_config(_good(p), d_model=15, n_heads=3)


def _good_mrms(p: Path) -> Path:
    torch.manual_seed(0)
    save_artifact(MRMSModel(MRMSConfig()), p, kind="mrms", provenance="trained")
    return p


def mrms_zero_sizes(p: Path) -> None:
    _edit_config(_good_mrms(p), n_sizes=0)


def mrms_dropout_negative(p: Path) -> None:
    _edit_config(_good_mrms(p), dropout=-0.5)


def mrms_bounds_reversed(p: Path) -> None:
    _edit_config(_good_mrms(p), stop_multiplier_min=3.0, stop_multiplier_max=0.5)


def untrained(p: Path) -> None:
    _good(p, provenance="untrained")


def missing_weights(p: Path) -> None:
    (_good(p) / "model.safetensors").unlink()


def unknown_manifest_field(p: Path) -> None:
    _edit_manifest(_good(p), trust_me=True)


def core_kind(p: Path) -> None:
    _edit_manifest(_good(p), kind="core")


CASES: list[tuple[str, Callable[[Path], None], str, dict[str, object]]] = [
    ("placeholder pickle as weights", placeholder_pickle, r"not a readable safetensors file", {}),
    ("truncated safetensors", truncated_safetensors, r"truncated or damaged", {}),
    ("flipped byte", flipped_byte, r"model.safetensors: sha256 mismatch", {}),
    ("missing key", missing_key, r"missing keys \(1\): fc_mu.net.3.bias", {}),
    ("unexpected key", unexpected_key, r"unexpected keys \(1\): head.extra.weight", {}),
    ("wrong shape", wrong_shape, r"shape mismatch for fc_mu.net.3.weight: file \(9, 8\), model \(8, 8\)", {}),
    ("NaN weight", nan_weight, r"NaN/inf weights: input_projection.weight \(1 of", {}),
    ("inf weight", inf_weight, r"NaN/inf weights: transformer.layers.0.norm1.weight", {}),
    ("wrong kind", _good, r"holds a 'rde' model, but a 'mrms' model was asked for", {"kind": "mrms"}),
    ("future format version", future_format, r"format version 99, newer than the 1", {}),
    ("malformed manifest JSON", malformed_manifest, r"manifest.json is not valid JSON \(line 1", {}),
    ("malformed config JSON", malformed_config, r"config.json is not valid JSON", {}),
    ("unknown config field", unknown_config_field, r"unknown fields \['n_experts'\]", {}),
    ("unknown manifest field", unknown_manifest_field, r"trust_me: Extra inputs are not permitted", {}),
    ("feature-spec mismatch", _good, r"trained on feature spec ffff.*caller builds features with spec 0000",
     {"feature_spec_fingerprint": "0" * 64}),
    ("untrained provenance", untrained, r"untrained model \(provenance 'untrained'\)", {}),
    ("missing weights file", missing_weights, r"model.safetensors: missing", {}),
    ("RDE weights signed as a core", core_kind, r"does not match CoreConfig \(kind 'core'\)", {}),
    ("n_heads not dividing d_model", heads_not_dividing, r"d_model=16 is not divisible by n_heads=7.*restore", {}),
    ("zero heads", zero_heads, r"n_heads=0: expected an integer in 1\.\.100,000", {}),
    ("dropout 2.0", dropout_above_one, r"dropout=2\.0: expected a probability in \[0, 1\)", {}),
    ("huge max_len", huge_max_len, r"max_len=1000000000: expected an integer in 1\.\.100,000", {}),
    ("odd d_model", odd_d_model, r"d_model=15: the sinusoidal positional table needs an even d_model", {}),
    ("mrms zero sizes", mrms_zero_sizes, r"n_sizes=0: expected an integer", {}),
    ("mrms negative dropout", mrms_dropout_negative, r"dropout=-0\.5: expected a probability", {}),
    ("mrms bounds reversed", mrms_bounds_reversed, r"stop_multiplier_min=3\.0, stop_multiplier_max=0\.5", {}),
]


def _healthy() -> None:
    """The process still works: a fresh artifact saves and loads, torch computes."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        model, _ = load_artifact(_good(Path(d) / "ok"), device="cpu")
        with torch.no_grad():
            assert torch.isfinite(model.encode(torch.randn(1, 16, TINY.input_dim))[0]).all()


@pytest.mark.parametrize("name,build,message,kwargs", CASES, ids=[c[0] for c in CASES])
def test_bad_artifact_is_refused(
    tmp_path: Path, name: str, build: Callable[[Path], None], message: str, kwargs: dict[str, object]
) -> None:
    path = tmp_path / "bad"
    build(path)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(path, device="cpu", **kwargs)  # type: ignore[arg-type]
    _healthy()


def test_verify_flags_every_corrupt_case(tmp_path: Path) -> None:
    for name, build, _msg, kwargs in CASES:
        if kwargs or name in ("untrained provenance",):
            continue  # caller-side checks (kind, spec, provenance) are not integrity failures
        path = tmp_path / name.replace(" ", "_")
        build(path)
        assert not verify_artifact(path).ok, name


def test_path_problems(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(tmp_path / "nope", device="cpu")
    f = tmp_path / "model.pth"
    f.write_bytes(b"x")
    with pytest.raises(ArtifactError, match="import-legacy"):
        load_artifact(f, device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_artifact(tmp_path / "empty", device="cpu")


def test_malicious_pickle_as_weights_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # noqa: ANN204 - a pickle gadget: opening the marker creates it
            return (open, (str(marker), "w"))

    path = _good(tmp_path / "evil")
    (path / "model.safetensors").write_bytes(pickle.dumps(Payload()))
    resign(path)
    with pytest.raises(ArtifactError, match="not a readable safetensors"):
        load_artifact(path, device="cpu")
    assert not marker.exists()
