"""The original RDE's checkpoint keys mapped onto ours (`transformer_encoder.*`, `vae_head.*`).

Its context decoder (8->16->128->256) has no counterpart (ours reconstructs the input
window summary), so an imported RDE serves inference only; the fixed positional table is
checked to be the standard sinusoid our model recomputes, then dropped.
"""

from __future__ import annotations

import re

import torch

from algospace.artifacts.legacy import IMPORT_SEED, Imported, fresh_model, load_mapped, register_legacy_importer
from algospace.errors import ArtifactError
from algospace.models.rde import RDEConfig, RegimeVAE

_RDE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^transformer_encoder\.input_projection\.(weight|bias)$"), r"input_projection.\1"),
    (re.compile(r"^transformer_encoder\.transformer\.layers\.(\d+)\.(.+)$"), r"transformer.layers.\1.\2"),
    (re.compile(r"^vae_head\.(fc_mu|fc_log_var)\.(\d+)\.(weight|bias)$"), r"\1.net.\2.\3"),
]
_RDE_PE = "transformer_encoder.pos_encoder.pe"
_RDE_HEADS = 8  # not recoverable from weights (in_proj is 3*d_model whatever the heads); the original used 8


def _import_rde(sd: dict[str, torch.Tensor]) -> Imported:
    mapped: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    unknown: list[str] = []
    pe: torch.Tensor | None = None
    decoder_keys: list[str] = []
    for key, t in sd.items():
        if key == _RDE_PE:
            pe = t
            continue
        if key.startswith("decoder.decoder."):
            decoder_keys.append(key)
            continue
        for pattern, repl in _RDE_RULES:
            if pattern.match(key):
                mapped[pattern.sub(repl, key)] = t
                break
        else:
            unknown.append(key)
    if unknown:
        raise ArtifactError(
            f"{len(unknown)} key(s) of the legacy RDE checkpoint match no known layout: {', '.join(unknown[:10])}. "
            "Expected the original's transformer_encoder.*, vae_head.*, decoder.decoder.* keys."
        )
    config = _infer_rde_config(mapped)
    model = fresh_model(lambda: RegimeVAE(config))
    if pe is not None:
        dropped.append(_check_positional_table(pe, model))
    if decoder_keys:
        dropped.append(
            f"{', '.join(sorted(decoder_keys))}: the original's context decoder (8->16->128->256) has no counterpart "
            "(ours reconstructs the input window summary)"
        )
    not_imported = sorted(k for k in model.state_dict() if k.startswith("decoder."))
    notes = [
        f"n_heads={_RDE_HEADS} assumed: the head count is not stored in the weights; the original used {_RDE_HEADS}.",
        f"decoder.* has no source in the legacy file: freshly initialised (seed {IMPORT_SEED}), training-only; "
        "the artifact is for inference (encode / regime vector), not for resuming training.",
    ]
    load_mapped(model, mapped, allow_missing=set(not_imported), what="RDE")
    return Imported(model, dropped, not_imported, notes)


def _infer_rde_config(m: dict[str, torch.Tensor]) -> RDEConfig:
    try:
        d_model, input_dim = m["input_projection.weight"].shape
        layers = sorted({int(k.split(".")[2]) for k in m if k.startswith("transformer.layers.")})
        d_ff = m["transformer.layers.0.linear1.weight"].shape[0]
        head_hidden = m["fc_mu.net.0.weight"].shape[0]
        latent = m["fc_mu.net.3.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise ArtifactError(f"The legacy RDE checkpoint lacks {exc} needed to infer its architecture.") from exc
    if layers != list(range(len(layers))) or not layers:
        raise ArtifactError(f"The legacy RDE checkpoint has transformer layers {layers}; expected 0..N-1.")
    if d_model % _RDE_HEADS:
        raise ArtifactError(f"The legacy RDE d_model {d_model} is not divisible by {_RDE_HEADS} heads.")
    return RDEConfig(
        input_dim=int(input_dim), d_model=int(d_model), n_heads=_RDE_HEADS, n_layers=len(layers), d_ff=int(d_ff),
        latent_dim=int(latent), head_hidden=int(head_hidden),
    )


def _check_positional_table(pe: torch.Tensor, model: RegimeVAE) -> str:
    """The stored table must be the standard sinusoid our model recomputes, or outputs would differ."""
    ours = model.pos_encoder.pe  # (max_len, d_model)
    table = pe.reshape(-1, pe.shape[-1]).to(torch.float32)  # (5000, 1, d) -> (5000, d)
    n = min(table.shape[0], ours.shape[0])
    if table.shape[-1] != ours.shape[-1]:
        raise ArtifactError(f"{_RDE_PE} has width {table.shape[-1]}; the model's d_model is {ours.shape[-1]}.")
    diff = float((table[:n] - ours[:n]).abs().max())
    if diff > 1e-4:
        raise ArtifactError(
            f"{_RDE_PE} is not the standard sinusoidal table (max |diff| {diff:.3g} over {n} positions); the "
            "imported model would compute something else than the original. Not imported."
        )
    return (f"{_RDE_PE} {tuple(pe.shape)}: fixed sinusoidal buffer, recomputed by the model (matches to "
            f"{diff:.1e}), not a weight")


register_legacy_importer("rde", _import_rde, key_prefixes=("transformer_encoder.", "vae_head."))
