"""Legacy .pth import: the original's layouts and key names, placeholders and code-carrying
pickles. Checkpoints are built here with torch.save / pickle.dump, with the original's key
names and shapes (original-system.md, "Legacy checkpoint layouts"), and outputs are compared
with a reference written in the original's layer order."""

from __future__ import annotations

import math
import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from algospace.artifacts import import_legacy, inspect_artifact, load_artifact
from algospace.artifacts.pickle_scan import probe_file
from algospace.errors import ArtifactError
from algospace.models import MRMSModel, RegimeVAE

P = "transformer_encoder."


def sinusoid(max_len: int, d: int) -> torch.Tensor:
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, 1, d)
    pe[:, 0, 0::2] = torch.sin(pos * div)
    pe[:, 0, 1::2] = torch.cos(pos * div)
    return pe  # (max_len, 1, d): the original's layout


def legacy_rde(input_dim: int = 12, d: int = 16, layers: int = 2, d_ff: int = 32, hh: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int, scale: float = 0.2) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    sd[P + "input_projection.weight"] = r(d, input_dim)
    sd[P + "input_projection.bias"] = r(d)
    sd[P + "pos_encoder.pe"] = sinusoid(5000, d)
    for i in range(layers):
        q = f"{P}transformer.layers.{i}."
        sd[q + "self_attn.in_proj_weight"] = r(3 * d, d)
        sd[q + "self_attn.in_proj_bias"] = r(3 * d)
        sd[q + "self_attn.out_proj.weight"] = r(d, d)
        sd[q + "self_attn.out_proj.bias"] = r(d)
        sd[q + "linear1.weight"] = r(d_ff, d)
        sd[q + "linear1.bias"] = r(d_ff)
        sd[q + "linear2.weight"] = r(d, d_ff)
        sd[q + "linear2.bias"] = r(d)
        for n in ("norm1", "norm2"):
            sd[q + n + ".weight"] = 1 + r(d, scale=0.05)
            sd[q + n + ".bias"] = r(d, scale=0.05)
    for head in ("fc_mu", "fc_log_var"):
        sd[f"vae_head.{head}.0.weight"] = r(hh, d)
        sd[f"vae_head.{head}.0.bias"] = r(hh)
        sd[f"vae_head.{head}.3.weight"] = r(8, hh)
        sd[f"vae_head.{head}.3.bias"] = r(8)
    for idx, (o, i) in zip((0, 3, 6), ((16, 8), (128, 16), (d, 128))):
        sd[f"decoder.decoder.{idx}.weight"] = r(o, i)
        sd[f"decoder.decoder.{idx}.bias"] = r(o)
    return sd


def reference_rde_mu(sd: dict[str, torch.Tensor], x: torch.Tensor, heads: int = 8) -> torch.Tensor:
    """The original's inference path written out: projection -> +pe -> (dropout) -> post-norm
    transformer layers (GELU) -> mean over time -> fc_mu (Linear, ReLU, Dropout, Linear)."""
    B, T, _ = x.shape
    h = F.linear(x, sd[P + "input_projection.weight"], sd[P + "input_projection.bias"])
    D = h.shape[-1]
    h = h + sd[P + "pos_encoder.pe"][:T, 0, :]
    i = 0
    while f"{P}transformer.layers.{i}.linear1.weight" in sd:
        q = f"{P}transformer.layers.{i}."
        qkv = F.linear(h, sd[q + "self_attn.in_proj_weight"], sd[q + "self_attn.in_proj_bias"])
        Q, K, V = (t.reshape(B, T, heads, D // heads).transpose(1, 2) for t in qkv.split(D, dim=-1))
        att = torch.softmax(Q @ K.transpose(-1, -2) / math.sqrt(D // heads), dim=-1) @ V
        a = F.linear(att.transpose(1, 2).reshape(B, T, D), sd[q + "self_attn.out_proj.weight"], sd[q + "self_attn.out_proj.bias"])
        h = F.layer_norm(h + a, (D,), sd[q + "norm1.weight"], sd[q + "norm1.bias"])
        f = F.linear(F.gelu(F.linear(h, sd[q + "linear1.weight"], sd[q + "linear1.bias"])), sd[q + "linear2.weight"], sd[q + "linear2.bias"])
        h = F.layer_norm(h + f, (D,), sd[q + "norm2.weight"], sd[q + "norm2.bias"])
        i += 1
    c = h.mean(dim=1)
    z = F.relu(F.linear(c, sd["vae_head.fc_mu.0.weight"], sd["vae_head.fc_mu.0.bias"]))
    return F.linear(z, sd["vae_head.fc_mu.3.weight"], sd["vae_head.fc_mu.3.bias"])


def legacy_mrms(seed: int = 0) -> OrderedDict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "position_agent.network.0": (128, 40), "position_agent.network.3": (64, 128), "position_agent.network.6": (6, 64),
        "stop_loss_agent.network.0": (64, 40), "stop_loss_agent.network.3": (32, 64), "stop_loss_agent.network.5": (1, 32),
        "profit_target_agent.network.0": (64, 40), "profit_target_agent.network.3": (32, 64),
        "profit_target_agent.network.5": (1, 32), "value_head.0": (128, 40), "value_head.2": (1, 128),
    }
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, (o, i) in shapes.items():
        sd[k + ".weight"] = torch.randn(o, i, generator=g) * 0.2
        sd[k + ".bias"] = torch.randn(o, generator=g) * 0.2
    return sd


def reference_mrms(sd: dict[str, torch.Tensor], syn: torch.Tensor, acc: torch.Tensor) -> list[torch.Tensor]:
    x = torch.cat([syn, acc], dim=-1)

    def lin(k: str, v: torch.Tensor) -> torch.Tensor:
        return F.linear(v, sd[k + ".weight"], sd[k + ".bias"])

    def chain(prefix: str, idx: tuple[int, ...]) -> torch.Tensor:
        v = x
        for j, n in enumerate(idx):
            v = lin(f"{prefix}.{n}", v)
            if j < len(idx) - 1:
                v = F.relu(v)
        return v

    pos = chain("position_agent.network", (0, 3, 6))
    sl = 0.5 + 2.5 * torch.sigmoid(chain("stop_loss_agent.network", (0, 3, 5))).squeeze(-1)
    pt = 1.0 + 4.0 * torch.sigmoid(chain("profit_target_agent.network", (0, 3, 5))).squeeze(-1)
    v = chain("value_head", (0, 2)).squeeze(-1)
    return [pos, sl, pt, v]


def wrap(sd: dict[str, torch.Tensor], layout: str) -> object:
    if layout == "raw":
        return sd
    if layout == "model_state_dict":
        return {"model_state_dict": sd, "epoch": 42, "val_loss": 0.125}
    return {"state_dict": sd, "epoch": 7}


LAYOUTS = ["raw", "state_dict", "model_state_dict"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rde_import_each_layout_matches_the_original_order(tmp_path: Path, layout: str) -> None:
    sd = legacy_rde()
    src = tmp_path / "rde_model.pth"
    torch.save(wrap(sd, layout), src)
    m = import_legacy(src, "rde", tmp_path / "out")
    assert m.provenance == "legacy-import" and m.legacy is not None and m.legacy.layout == layout
    assert m.legacy.inference_only and all(k.startswith("decoder.") for k in m.legacy.not_imported)
    assert any("decoder.decoder.0.weight" in d for d in m.legacy.dropped_keys)
    assert any("pos_encoder.pe" in d for d in m.legacy.dropped_keys)
    if layout == "model_state_dict":
        assert m.legacy.extras == {"epoch": 42, "val_loss": 0.125}
    model, loaded = load_artifact(tmp_path / "out", device="cpu", kind="rde")
    assert isinstance(model, RegimeVAE) and any(w.startswith("LEGACY-IMPORT") for w in loaded.warnings)
    x = torch.randn(3, 24, 12)
    with torch.no_grad():
        torch.testing.assert_close(model.encode(x)[0], reference_rde_mu(sd, x), atol=1e-5, rtol=1e-5)


def test_rde_import_full_size_reproduces_reference_counts(tmp_path: Path) -> None:
    sd = legacy_rde(input_dim=155, d=256, layers=3, d_ff=1024, hh=128, seed=3)
    total = sum(t.numel() for k, t in sd.items() if not k.endswith(".pe"))
    assert total == 2_512_416  # the original's parameter count, decoder included
    src = tmp_path / "rde_model.pth"
    torch.save({"model_state_dict": sd, "epoch": 1, "val_loss": 0.5}, src)
    import_legacy(src, "rde", tmp_path / "out")
    model, _ = load_artifact(tmp_path / "out", device="cpu")
    assert model.config.input_dim == 155 and model.config.n_layers == 3 and model.config.d_model == 256
    assert model.encoder_parameters() == 2_477_072
    x = torch.randn(2, 24, 155)
    with torch.no_grad():
        torch.testing.assert_close(model.encode(x)[0], reference_rde_mu(sd, x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mrms_import_each_layout_matches_the_original(tmp_path: Path, layout: str) -> None:
    sd = legacy_mrms()
    src = tmp_path / "mrms.pth"
    torch.save(wrap(sd, layout), src)
    m = import_legacy(src, "mrms", tmp_path / "out")
    assert m.provenance == "legacy-import" and m.parameter_count == 28_745 and not m.legacy.inference_only
    model, _ = load_artifact(tmp_path / "out", device="cpu", kind="mrms")
    assert isinstance(model, MRMSModel)
    syn, acc = torch.randn(9, 30), torch.randn(9, 10)
    with torch.no_grad():
        for ours, ref in zip(model(syn, acc), reference_mrms(sd, syn, acc)):
            torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)


def test_pre_zip_torch_format_is_read(tmp_path: Path) -> None:
    sd = legacy_mrms(seed=4)
    src = tmp_path / "old.pth"
    torch.save(sd, src, _use_new_zipfile_serialization=False)
    assert probe_file(src).format == "torch-legacy"
    import_legacy(src, "mrms", tmp_path / "out")
    model, _ = load_artifact(tmp_path / "out", device="cpu")
    assert torch.equal(model.state_dict()["value_head.2.bias"], sd["value_head.2.bias"])


def test_core_has_no_legacy_mapping(tmp_path: Path) -> None:
    """The decision core is a new model: nothing of the original system's imports into it."""
    src = tmp_path / "core.pth"
    torch.save({"model_state_dict": {"policy.0.weight": torch.zeros(4, 4)}}, src)
    with pytest.raises(ArtifactError, match="no legacy key mapping for model kind 'core'"):
        import_legacy(src, "core", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_wrong_kind_is_named(tmp_path: Path) -> None:
    src = tmp_path / "rde.pth"
    torch.save(legacy_rde(), src)
    with pytest.raises(ArtifactError, match="looks like a 'rde' checkpoint.*--kind rde"):
        import_legacy(src, "mrms", tmp_path / "out")


PLACEHOLDER = {"weights": "placeholder_weights_for_rde_model"}


def test_plain_pickle_placeholder_is_named(tmp_path: Path) -> None:
    src = tmp_path / "rde_model.pth"
    with open(src, "wb") as fh:
        pickle.dump(PLACEHOLDER, fh)
    assert src.stat().st_size < 300
    with pytest.raises(ArtifactError, match=r"is a placeholder, not a model.*placeholder_weights_for_rde_model"):
        import_legacy(src, "rde", tmp_path / "out")
    report = inspect_artifact(src)
    assert report.status == "placeholder" and report.format == "plain-pickle"


def test_torch_saved_placeholder_is_named(tmp_path: Path) -> None:
    src = tmp_path / "mrms.pth"
    torch.save(PLACEHOLDER, src)
    with pytest.raises(ArtifactError, match="is a placeholder, not a model"):
        import_legacy(src, "mrms", tmp_path / "out")


def _payload(marker: Path) -> object:
    class Payload:
        def __reduce__(self):  # noqa: ANN204 - unpickling this calls open(marker, "w"): creates the file
            return (open, (str(marker), "w"))

    return Payload()


@pytest.mark.parametrize("how", ["torch-zip", "torch-legacy", "plain-pickle"])
def test_code_carrying_pickle_is_refused_and_never_runs(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "PWNED"
    obj = {"model_state_dict": legacy_mrms(), "epoch": 1, "hook": _payload(marker)}
    src = tmp_path / "evil.pth"
    if how == "torch-zip":
        torch.save(obj, src)
    elif how == "torch-legacy":
        torch.save(obj, src, _use_new_zipfile_serialization=False)
    else:
        with open(src, "wb") as fh:
            pickle.dump(obj, fh)
    with pytest.raises(ArtifactError, match=r"needs code to load: its pickle imports (_?io|builtins)\.open.*nothing in it ran"):
        import_legacy(src, "mrms", tmp_path / "out")
    report = inspect_artifact(src)
    assert report.status == "needs-code" and ".open" in report.detail
    assert not marker.exists()
    assert not (tmp_path / "out").exists()
    # torch's own weights-only loader agrees, and does not run it either (second line of defence)
    if how != "plain-pickle":
        with pytest.raises(Exception, match="(?i)weights only"):
            torch.load(src, weights_only=True)
        assert not marker.exists()


def test_bad_legacy_contents(tmp_path: Path) -> None:
    sd = legacy_rde()
    sd[P + "pos_encoder.pe"] = torch.randn(5000, 1, 16)
    torch.save(sd, tmp_path / "a.pth")
    with pytest.raises(ArtifactError, match="not the standard sinusoidal table"):
        import_legacy(tmp_path / "a.pth", "rde", tmp_path / "o1")

    sd = legacy_rde()
    sd["vae_head.attention_pool.weight"] = torch.zeros(3)
    torch.save(sd, tmp_path / "b.pth")
    with pytest.raises(ArtifactError, match="match no known layout: vae_head.attention_pool.weight"):
        import_legacy(tmp_path / "b.pth", "rde", tmp_path / "o2")

    sd = legacy_mrms()
    sd["value_head.0.weight"][0, 0] = float("nan")
    torch.save(sd, tmp_path / "c.pth")
    with pytest.raises(ArtifactError, match=r"NaN/inf weights: value_head.0.weight"):
        import_legacy(tmp_path / "c.pth", "mrms", tmp_path / "o3")

    sd = legacy_mrms()
    del sd["stop_loss_agent.network.5.bias"]
    torch.save(sd, tmp_path / "d.pth")
    with pytest.raises(ArtifactError, match=r"missing keys \(1\): stop_loss_agent.network.5.bias"):
        import_legacy(tmp_path / "d.pth", "mrms", tmp_path / "o4")

    sd = legacy_mrms()
    sd["value_head.2.weight"] = torch.zeros(2, 128)
    torch.save(sd, tmp_path / "e.pth")
    with pytest.raises(ArtifactError, match=r"shape mismatch for value_head.2.weight"):
        import_legacy(tmp_path / "e.pth", "mrms", tmp_path / "o5")

    data = (tmp_path / "e.pth").read_bytes()
    (tmp_path / "f.pth").write_bytes(data[: len(data) // 3])
    with pytest.raises(ArtifactError, match="(?i)could not be read|truncated|damaged"):
        import_legacy(tmp_path / "f.pth", "mrms", tmp_path / "o6")

    (tmp_path / "g.pth").write_bytes(b"GARBAGE" * 10)
    with pytest.raises(ArtifactError, match="neither a torch checkpoint nor a pickle"):
        import_legacy(tmp_path / "g.pth", "mrms", tmp_path / "o7")
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 8))


class _Call:
    """Pickles as a call of `fn(*args)`: what a hostile checkpoint embeds to run a loader."""

    def __init__(self, fn: object, *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):  # noqa: ANN204
        return (self.fn, self.args)


_TORCH_TEXT = ("weights_only=False", "can still be loaded", "\x1b[", "add_safe_globals", "WeightsUnpickler")


@pytest.mark.parametrize("target", ["torch.serialization.load", "numpy.load"])
@pytest.mark.parametrize("zipped", [True, False])
def test_torch_and_numpy_loaders_are_refused_by_the_scan(tmp_path: Path, target: str, zipped: bool) -> None:
    import numpy as np

    fn = torch.serialization.load if target == "torch.serialization.load" else np.load
    src = tmp_path / "evil.pth"
    torch.save({"model_state_dict": legacy_mrms(), "extra": _Call(fn, str(tmp_path / "other.pth"))}, src,
               _use_new_zipfile_serialization=zipped)
    with pytest.raises(ArtifactError, match=rf"needs code to load: its pickle imports {target}\b") as info:
        import_legacy(src, "mrms", tmp_path / "out")
    assert not any(t in str(info.value) for t in _TORCH_TEXT), str(info.value)
    assert not (tmp_path / "out").exists()


def test_torch_error_text_drops_torch_advice(tmp_path: Path) -> None:
    from algospace.artifacts.pickle_scan import torch_error_text

    src = tmp_path / "np.pth"
    torch.save({"x": _Call(torch.serialization.load, "nowhere.pth")}, src)
    with pytest.raises(Exception) as info:  # torch's own refusal, with its advice to go unsafe
        torch.load(src, weights_only=True)
    assert "weights_only=False" in str(info.value) or "can still be loaded" in str(info.value)
    text = torch_error_text(info.value)
    assert text == "it imports torch.serialization.load"
    assert not any(t in text for t in _TORCH_TEXT)


def test_real_checkpoint_globals_pass_the_scan(tmp_path: Path) -> None:
    """The narrowed allowlist still takes what state-dict checkpoints use: dtypes, Parameters, Size, bytes."""
    sd = OrderedDict(a=torch.randn(2, 3), b=torch.zeros(3, dtype=torch.float16), c=torch.arange(3))
    obj = {"state_dict": sd, "p": torch.nn.Parameter(torch.randn(2)), "size": torch.Size([2, 3]),
           "dtype": torch.bfloat16, "device": torch.device("cpu"), "raw": b"xx"}
    for zipped in (True, False):
        src = tmp_path / f"ok{zipped}.pth"
        torch.save(obj, src, _use_new_zipfile_serialization=zipped)
        probe = probe_file(src)
        assert probe.status == "checkpoint", probe.detail


def test_legacy_rde_serves_regime_vectors_but_not_the_engine(tmp_path: Path) -> None:
    """What docs/artifacts.md promises: load_artifact + model.regime_vector on caller-built features;
    the engine needs an algospace-trained artifact with its fitted feature_spec/."""
    from algospace.engines.rde import RegimeDetectionEngine

    src = tmp_path / "rde_model.pth"
    torch.save(legacy_rde(), src)
    import_legacy(src, "rde", tmp_path / "out")
    model, _ = load_artifact(tmp_path / "out", device="cpu", kind="rde")
    with torch.no_grad():
        v = model.regime_vector(torch.randn(2, 24, 12))
    assert v.shape == (2, model.config.latent_dim) and torch.isfinite(v).all()
    with pytest.raises(ArtifactError, match="no feature_spec/"):
        RegimeDetectionEngine.load(tmp_path / "out", device="cpu")
