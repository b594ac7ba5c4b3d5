"""Model kinds: kind name -> config dataclass + model class.

The artifact layer rebuilds a model from `config.json` through this registry. `rde` and
`mrms` are registered here. Other kinds register themselves with `register_model` in their
own module; for the kinds algospace knows by name (e.g. `core`), the registry imports
`algospace.models.<kind>` on first use, so the decision-core module only has to call
`register_model("core", CoreConfig, DecisionCoreModel, ...)` at import.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
from pydantic import TypeAdapter, ValidationError

from algospace.errors import ArtifactError
from algospace.models.mrms import MRMSConfig, MRMSModel, mrms_config_problems
from algospace.models.rde import POOLINGS, RDEConfig, RegimeVAE, SinusoidalPositionalEncoding

# Kinds with a fixed meaning in algospace, whether or not their model exists yet.
KNOWN_KINDS: dict[str, str] = {
    "rde": "Regime Detection Engine (Transformer-VAE)",
    "mrms": "Multi-Agent Risk Management Subsystem",
    "core": "decision core (trade / no trade)",
}


@dataclass(frozen=True)
class ModelSpec:
    """How to rebuild one kind of model: its config dataclass and model class."""

    kind: str
    config_cls: type
    model_cls: type[nn.Module]
    description: str
    # Recreates a model's non-persistent buffers (fixed tables that are not weights) on its
    # device; lets loaders build the model on the meta device, skipping the random init that
    # the loaded weights overwrite anyway. None: the loader builds the model normally.
    rebuild_buffers: Callable[[nn.Module], None] | None = None
    # Range checks of a config read from a file (types are checked field by field already):
    # returns one line per bad field, empty when the config can be built. None: no checks.
    check_config: Callable[[Any], list[str]] | None = None
    # A fixed, seeded input run through the model at every load and verify: model -> its outputs
    # as one tensor. A model whose answer is NaN/inf or beyond `probe_limit` in magnitude is
    # refused, so weights that are finite but broken (e.g. scaled by 1e30) never serve. None: no probe.
    probe: Callable[[nn.Module], torch.Tensor] | None = None
    probe_limit: float = 1e4


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    kind: str,
    config_cls: type,
    model_cls: type[nn.Module],
    description: str = "",
    rebuild_buffers: Callable[[nn.Module], None] | None = None,
    check_config: Callable[[Any], list[str]] | None = None,
    probe: Callable[[nn.Module], torch.Tensor] | None = None,
    probe_limit: float = 1e4,
) -> ModelSpec:
    """Register a model kind. The config must be a dataclass; the model takes it as its only argument."""
    if not dataclasses.is_dataclass(config_cls):
        raise ArtifactError(f"The config of model kind {kind!r} must be a dataclass; received {config_cls!r}.")
    existing = _REGISTRY.get(kind)
    if existing is not None and (existing.config_cls, existing.model_cls) != (config_cls, model_cls):
        raise ArtifactError(
            f"Model kind {kind!r} is already registered to {existing.model_cls.__name__}; "
            f"cannot register {model_cls.__name__} under the same name."
        )
    spec = ModelSpec(
        kind, config_cls, model_cls, description or KNOWN_KINDS.get(kind, kind), rebuild_buffers, check_config,
        probe, probe_limit,
    )
    _REGISTRY[kind] = spec
    return spec


def registered_kinds() -> list[str]:
    """Kinds that have a model class now."""
    return sorted(_REGISTRY)


def get_model_spec(kind: str) -> ModelSpec:
    """The spec of `kind`; an ArtifactError that says why when there is none."""
    if kind not in _REGISTRY and kind in KNOWN_KINDS:
        try:
            importlib.import_module(f"algospace.models.{kind}")
        except ModuleNotFoundError as exc:
            if exc.name != f"algospace.models.{kind}":
                raise
    spec = _REGISTRY.get(kind)
    if spec is not None:
        return spec
    if kind in KNOWN_KINDS:
        raise ArtifactError(
            f"Model kind {kind!r} ({KNOWN_KINDS[kind]}) has no model in this version of algospace yet, so its "
            f"artifacts cannot be built or loaded; kinds with a model: {', '.join(registered_kinds())}."
        )
    hint = difflib.get_close_matches(kind, list(KNOWN_KINDS), n=1)
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise ArtifactError(
        f"Unknown model kind {kind!r}; expected one of {', '.join(KNOWN_KINDS)}.{did_you_mean}"
    )


def kind_of(model: nn.Module) -> str | None:
    """The registered kind whose model class `model` is, if any."""
    for spec in _REGISTRY.values():
        if type(model) is spec.model_cls:
            return spec.kind
    return None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A model config dataclass as a plain JSON-able dict (fields only)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ArtifactError(f"A model's .config must be a dataclass instance; found {type(config).__name__}.")
    return dataclasses.asdict(config)


def config_from_dict(kind: str, data: Any, source: str = "config.json") -> Any:
    """Rebuild the config of `kind` from a dict, strictly: every field present, no unknown one, right types."""
    spec = get_model_spec(kind)
    cls = spec.config_cls
    if not isinstance(data, dict):
        raise ArtifactError(f"{source} must hold a JSON object of {cls.__name__} fields; found {type(data).__name__}.")
    names = {f.name for f in dataclasses.fields(cls)}
    # A field added later with `absent_default` metadata may be missing (older artifacts): it
    # takes the dataclass default, which the model defines as the behaviour before the field.
    optional = {f.name for f in dataclasses.fields(cls) if f.metadata.get("absent_default")}
    unknown = sorted(set(data) - names)
    missing = sorted(names - set(data) - optional)
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing fields {missing}")
        if unknown:
            parts.append(f"unknown fields {unknown}")
        raise ArtifactError(
            f"{source} does not match {cls.__name__} (kind {kind!r}): {'; '.join(parts)}. The artifact was written "
            "by another version of the model; re-save or re-train it with this version."
        )
    # Field by field in pydantic's strict mode: a JSON int is accepted for a float, but a string
    # or bool is not coerced into a number.
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in data.items():
        try:
            values[name] = TypeAdapter(hints[name]).validate_python(value, strict=True)
        except ValidationError as exc:
            errors.append(f"{name}={value!r}: {exc.errors()[0]['msg']}")
    if errors:
        raise ArtifactError(f"{source} has invalid {cls.__name__} values: {'; '.join(errors)}.")
    try:
        config = cls(**values)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{source} is not a valid {cls.__name__}: {exc}.") from exc
    problems = spec.check_config(config) if spec.check_config is not None else []
    if problems:
        raise ArtifactError(
            f"{source} has out-of-range {cls.__name__} values: {'; '.join(problems)}. The file was edited or "
            "damaged after saving (a model with these values cannot be built); restore the artifact from a good "
            "copy or re-save it."
        )
    return config


def build_model(kind: str, config: Any) -> nn.Module:
    """A freshly initialised model of `kind` for `config`."""
    spec = get_model_spec(kind)
    if not isinstance(config, spec.config_cls):
        raise ArtifactError(
            f"Model kind {kind!r} needs a {spec.config_cls.__name__}; received {type(config).__name__}."
        )
    return spec.model_cls(config)


def _rde_rebuild_buffers(model: nn.Module) -> None:
    """The positional table is a fixed function of (d_model, max_len): rebuild it on the model's device."""
    if not isinstance(model, RegimeVAE):
        raise ArtifactError(f"The rde buffer rebuild needs a RegimeVAE; received {type(model).__name__}.")
    with torch.device(model.input_projection.weight.device):
        model.pos_encoder = SinusoidalPositionalEncoding(model.config.d_model, model.config.max_len)


# Upper bound of every size field of a config read from a file: far above any real model, low
# enough that a hostile config.json cannot make the loader allocate gigabytes (the positional
# table alone is max_len x d_model floats).
MAX_DIM = 100_000


def positive_int_problems(config: Any, names: list[str], *, limit: int = MAX_DIM) -> list[str]:
    """`name=value: ...` for each field of `names` that is not an int in 1..limit."""
    out = []
    for name in names:
        v = getattr(config, name)
        if not 1 <= v <= limit:
            out.append(f"{name}={v!r}: expected an integer in 1..{limit:,}")
    return out


def dropout_problems(config: Any, name: str = "dropout") -> list[str]:
    """A dropout probability must lie in [0, 1)."""
    v = getattr(config, name)
    return [] if 0.0 <= v < 1.0 else [f"{name}={v!r}: expected a probability in [0, 1)"]


def rde_config_problems(c: RDEConfig) -> list[str]:
    """Why an RDEConfig cannot be built (one line per problem); empty when it can."""
    out = positive_int_problems(
        c, ["input_dim", "d_model", "n_heads", "n_layers", "d_ff", "latent_dim", "head_hidden", "decoder_hidden",
            "max_len", "min_window", "max_window"]
    )
    out += dropout_problems(c)
    if c.pooling not in POOLINGS:
        out.append(f"pooling={c.pooling!r}: expected one of {list(POOLINGS)}")
    if not 0.0 < c.pool_halflife <= MAX_DIM:
        out.append(f"pool_halflife={c.pool_halflife!r}: expected a number of bars in (0, {MAX_DIM:,}]")
    if not out:
        if c.d_model % c.n_heads:
            out.append(f"d_model={c.d_model} is not divisible by n_heads={c.n_heads}")
        if c.d_model % 2:
            out.append(f"d_model={c.d_model}: the sinusoidal positional table needs an even d_model")
        if c.min_window > min(c.max_window, c.max_len):
            out.append(
                f"min_window={c.min_window}, max_window={c.max_window}, max_len={c.max_len}: expected "
                "min_window <= max_window and min_window <= max_len"
            )
    return out


PROBE_SEED = 0
PROBE_WINDOW = 48  # the RDE's default window, within every config's [min_window, max_window]


def probe_input(shape: tuple[int, ...], device: torch.device, clip: float = 10.0) -> torch.Tensor:
    """The fixed probe input: seeded standard normal values clipped to +-clip (the features' range)."""
    gen = torch.Generator().manual_seed(PROBE_SEED)
    return torch.randn(shape, generator=gen).clamp_(-clip, clip).to(device)


def _rde_probe(model: nn.Module) -> torch.Tensor:
    """The regime vector of one fixed window."""
    c = model.config
    t = min(max(c.min_window, PROBE_WINDOW), c.max_window, c.max_len)
    return model.regime_vector(probe_input((1, t, c.input_dim), next(model.parameters()).device))  # (1, latent)


def _mrms_probe(model: nn.Module) -> torch.Tensor:
    """Every head's output for one fixed synergy and account vector."""
    c = model.config
    x = probe_input((1, c.synergy_dim + c.account_dim), next(model.parameters()).device)
    out = model(x[:, : c.synergy_dim], x[:, c.synergy_dim :])
    return torch.cat([t.reshape(-1) for t in out])


register_model(
    "rde", RDEConfig, RegimeVAE, rebuild_buffers=_rde_rebuild_buffers, check_config=rde_config_problems, probe=_rde_probe
)
register_model("mrms", MRMSConfig, MRMSModel, check_config=mrms_config_problems, probe=_mrms_probe)
