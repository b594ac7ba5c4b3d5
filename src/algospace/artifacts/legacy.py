"""Import of the original system's .pth checkpoints, without ever running code from them.

Reading goes in two steps:
1. A static scan of the pickle opcodes with `pickletools.genops`, which only parses the
   byte stream and never executes or imports anything. It recognises files `torch.load`
   cannot (a plain `pickle.dump` of a placeholder dict has no torch magic number) and names
   any global a file would import, so code-carrying files are refused before any loader
   sees them.
2. `torch.load(weights_only=True)` for real torch checkpoints (zip or legacy format): torch's
   restricted unpickler builds tensors and containers only and rejects every other global.

Then the original's key names are mapped onto ours, the architecture is inferred from the
tensor shapes, the state dict is loaded strictly and the result saved as an artifact with
provenance `legacy-import` (never `trained`), recording what was dropped and what has no
source.
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickletools
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from algospace.artifacts.format import ArtifactMetadata, LegacySource, Manifest
from algospace.artifacts.load import state_dict_problems
from algospace.artifacts.safety import non_finite_keys, require_safe_torch
from algospace.artifacts.save import coerce_metadata, save_artifact
from algospace.errors import ArtifactError
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.models.rde import RDEConfig, RegimeVAE
from algospace.models.registry import get_model_spec

log = logging.getLogger(__name__)

# The first pickle of torch's pre-1.6 (non-zip) format is this integer.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# Opcodes by which a pickle calls or imports something.
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD", "EXT1", "EXT2", "EXT4"}
# Globals a checkpoint of state dicts (tensors, parameters, scalars, optimizer state) imports;
# anything else (numpy, torch.serialization.load, ...) is refused by the scan, with our own
# message, before any loader sees the file. torch's weights-only unpickler is the second line.
_CHECKPOINT_GLOBALS = frozenset({
    "collections.OrderedDict",
    "_codecs.encode",  # bytes objects in protocol-2 pickles (torch.save's protocol)
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",  # a tensor or Parameter carrying Python attributes
    "torch.nn.parameter.Parameter",
    "torch._tensor.Tensor",
    "torch.Tensor",
    "torch.Size",
    "torch.device",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
})
_STORAGE_TYPE = re.compile(r"^torch\.(cuda\.)?[A-Z]\w*Storage$")  # torch.FloatStorage, torch.cuda.HalfStorage, ...
_IMPORT_SEED = 0  # seeds the fresh weights of tensors a legacy file has no source for


@dataclass
class PickleScan:
    """What a static opcode scan of one pickle found."""

    globals: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    code_opcodes: set[str] = field(default_factory=set)
    first_value: Any = None
    error: str | None = None


def scan_pickle(stream: io.BytesIO) -> PickleScan:
    """Walk one pickle's opcodes up to STOP without executing it (pickletools.genops only parses)."""
    scan = PickleScan()
    recent: list[str] = []  # strings pushed lately: STACK_GLOBAL takes module and name from them
    memo: dict[int, Any] = {}
    last: Any = None
    seen_value = False
    try:
        for op, arg, _pos in pickletools.genops(stream):
            name = op.name
            if isinstance(arg, str) and name not in ("GLOBAL", "INST"):
                recent.append(arg)
                scan.strings.append(arg)
            if name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(arg)] = last
            elif name in ("BINGET", "LONG_BINGET", "GET") and isinstance(memo.get(int(arg)), str):
                recent.append(memo[int(arg)])
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            if name in ("GLOBAL", "INST"):
                scan.globals.append(str(arg).replace(" ", "."))
            elif name == "STACK_GLOBAL":
                scan.globals.append(".".join(recent[-2:]) if len(recent) >= 2 else "?")
            if name in _CODE_OPCODES:
                scan.code_opcodes.add(name)
            if not seen_value and name not in ("PROTO", "FRAME"):
                scan.first_value, seen_value = arg, True
            last = arg
    except Exception as exc:  # genops raises ValueError and others on damaged streams
        scan.error = f"{type(exc).__name__}: {exc}"
    return scan


@dataclass
class Probe:
    """What a .pth file is, found without running anything from it."""

    path: Path
    size: int
    sha256: str
    format: str  # torch-zip | torch-legacy | plain-pickle | unknown
    status: str  # checkpoint | placeholder | needs-code | unreadable
    detail: str
    obj: Any = None


def probe_file(path: str | Path) -> Probe:
    """Identify a legacy file and, when safe, load it with torch.load(weights_only=True)."""
    require_safe_torch()
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"No file at {p}; pass the path of a legacy .pth checkpoint.")
    data = p.read_bytes()
    base = dict(path=p, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    if zipfile.is_zipfile(io.BytesIO(data)):
        fmt = "torch-zip"
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if not pkl:
                return Probe(**base, format="unknown", status="unreadable",
                             detail=f"{p.name} is a zip archive without data.pkl: not a torch checkpoint.")
            scans = [scan_pickle(io.BytesIO(zf.read(pkl[0])))]
    elif data[:4] == b"PK\x03\x04":
        return Probe(**base, format="torch-zip", status="unreadable",
                     detail=f"{p.name} starts like a torch zip checkpoint but its archive is truncated or damaged.")
    else:
        stream = io.BytesIO(data)
        first = scan_pickle(stream)
        if first.error is not None and data[:1] != b"\x80":  # protocol >= 2 pickles start with PROTO
            return Probe(**base, format="unknown", status="unreadable",
                         detail=f"{p.name} is neither a torch checkpoint nor a pickle (first bytes {data[:8]!r}).")
        if first.first_value == _TORCH_LEGACY_MAGIC:
            fmt = "torch-legacy"
            scans = [first] + [scan_pickle(stream) for _ in range(3)]  # protocol, sys info, the object
        else:
            fmt = "plain-pickle"
            scans = [first]

    globs = [g for s in scans for g in s.globals]
    strings = [t for s in scans for t in s.strings]
    errors = [s.error for s in scans if s.error]
    if errors:
        return Probe(**base, format=fmt, status="unreadable",
                     detail=f"{p.name} is truncated or damaged ({errors[0]}).")
    if fmt == "plain-pickle":
        if globs or scans[0].code_opcodes:
            # A plain pickle is never handed to a loader, tensors or not: name what it would import,
            # the non-torch globals first.
            named = [g for g in globs if not is_checkpoint_global(g)] or globs or ["(object calls)"]
            named.sort(key=lambda g: g.startswith("torch."))  # stable: non-torch globals first
            return Probe(**base, format=fmt, status="needs-code", detail=_code_message(p, named))
        placeholders = [t for t in strings if "placeholder" in t.lower()]
        if placeholders:
            return Probe(**base, format=fmt, status="placeholder", detail=_placeholder_message(p, len(data), placeholders))
        return Probe(**base, format=fmt, status="unreadable",
                     detail=f"{p.name} is a plain pickle of data with no tensors (written by pickle.dump, not "
                     "torch.save): there are no weights in it to import.")
    foreign = [g for g in globs if not is_checkpoint_global(g)]
    if foreign:
        return Probe(**base, format=fmt, status="needs-code", detail=_code_message(p, foreign))
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ... ; nothing ran
        reason = torch_error_text(exc)
        if "weights only" in str(exc).lower() or "unsupported global" in str(exc).lower():
            return Probe(**base, format=fmt, status="needs-code",
                         detail=f"{p.name} needs objects other than tensors to load ({reason}). Model files must "
                         "hold only tensors; it was refused and nothing in it ran. Do not load it in torch's "
                         "unsafe mode; get the weights from a trusted source.")
        return Probe(**base, format=fmt, status="unreadable", detail=f"{p.name} could not be read: {reason}")
    if not _has_tensor(obj):
        placeholders = [t for t in _strings_in(obj) if "placeholder" in t.lower()]
        if placeholders:
            return Probe(**base, format=fmt, status="placeholder", detail=_placeholder_message(p, len(data), placeholders))
        return Probe(**base, format=fmt, status="unreadable",
                     detail=f"{p.name} holds no tensors ({_describe(obj)}): there are no weights in it to import.")
    return Probe(**base, format=fmt, status="checkpoint", detail="torch checkpoint", obj=obj)


@dataclass
class LegacyCheckpoint:
    """A legacy checkpoint read safely: its state dict, layout and scalar extras."""

    probe: Probe
    state_dict: dict[str, torch.Tensor]
    layout: str  # model_state_dict | state_dict | raw
    extras: dict[str, int | float | str | None]
    ignored: list[str]  # top-level entries not imported (e.g. optimizer state)


def read_legacy_checkpoint(path: str | Path) -> LegacyCheckpoint:
    """Read a .pth in one of the original's layouts; ArtifactError for anything else."""
    return checkpoint_from_probe(probe_file(path))


def checkpoint_from_probe(probe: Probe) -> LegacyCheckpoint:
    """The checkpoint a probe found, in one of the original's layouts; ArtifactError otherwise."""
    if probe.status != "checkpoint":
        raise ArtifactError(probe.detail)
    obj = probe.obj
    if not isinstance(obj, Mapping):
        raise ArtifactError(f"{probe.path.name} holds a {type(obj).__name__}; expected a dict (a state dict or a "
                            "checkpoint dict with model_state_dict).")
    extras: dict[str, int | float | str | None] = {}
    ignored: list[str] = []
    if "model_state_dict" in obj or "state_dict" in obj:
        layout = "model_state_dict" if "model_state_dict" in obj else "state_dict"
        sd = obj[layout]
        for k, v in obj.items():
            if k == layout:
                continue
            if v is None or isinstance(v, (int, float, str)) and not isinstance(v, bool):
                extras[str(k)] = v
            elif isinstance(v, torch.Tensor) and v.numel() == 1:
                extras[str(k)] = v.item()
            else:
                ignored.append(f"{k} ({type(v).__name__}): not part of the model, not imported")
    elif all(isinstance(v, torch.Tensor) for v in obj.values()):
        layout, sd = "raw", obj
    else:
        raise ArtifactError(
            f"{probe.path.name} is a dict with keys {sorted(map(str, obj))[:8]} but no model_state_dict / state_dict "
            "and not all values are tensors: not a layout the original system used."
        )
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ArtifactError(f"{probe.path.name}: the '{layout}' entry is not a dict of tensors.")
    return LegacyCheckpoint(probe, {str(k): v for k, v in sd.items()}, layout, extras, ignored)


@dataclass
class _Imported:
    model: nn.Module
    dropped: list[str]
    not_imported: list[str]
    notes: list[str]


Importer = Callable[[dict[str, torch.Tensor]], _Imported]
_IMPORTERS: dict[str, Importer] = {}


def register_legacy_importer(kind: str, importer: Importer) -> None:
    """Let a model kind (e.g. the decision core) add its legacy key mapping."""
    _IMPORTERS[kind] = importer


def import_legacy(
    file: str | Path,
    kind: str,
    out: str | Path,
    *,
    metadata: ArtifactMetadata | Mapping[str, Any] | None = None,
) -> Manifest:
    """Convert a legacy .pth of `kind` into an artifact directory at `out` (provenance legacy-import).

    Example:
        import_legacy("rde_model.pth", "rde", "runs/rde-legacy")
    """
    ckpt = read_legacy_checkpoint(file)
    get_model_spec(kind)  # a kind with no model yet (core) fails here with the reason
    importer = _IMPORTERS.get(kind)
    if importer is None:
        raise ArtifactError(f"There is no legacy key mapping for model kind {kind!r}; it cannot be imported.")
    guessed = guess_kind(ckpt.state_dict)
    if guessed is not None and guessed != kind:
        raise ArtifactError(
            f"{ckpt.probe.path.name} looks like a {guessed!r} checkpoint (by its key names), not {kind!r}; "
            f"pass --kind {guessed}."
        )
    imported = importer(ckpt.state_dict)
    imported.model.eval()
    legacy = LegacySource(
        file_name=ckpt.probe.path.name,
        sha256=ckpt.probe.sha256,
        layout=ckpt.layout,  # type: ignore[arg-type]
        extras=ckpt.extras,
        dropped_keys=imported.dropped + ckpt.ignored,
        not_imported=imported.not_imported,
        inference_only=bool(imported.not_imported),
        notes=imported.notes,
    )
    meta = coerce_metadata(metadata)
    meta = meta.model_copy(update={"notes": [*meta.notes, *imported.notes]})
    manifest = save_artifact(imported.model, out, kind=kind, provenance="legacy-import", metadata=meta, legacy=legacy)
    log.info("imported %s (%s layout) as %s artifact at %s", ckpt.probe.path.name, ckpt.layout, kind, out)
    return manifest


def guess_kind(state_dict: Mapping[str, Any]) -> str | None:
    """The model kind a legacy state dict's key names point to, if clear."""
    keys = list(state_dict)
    if any(k.startswith(("transformer_encoder.", "vae_head.")) for k in keys):
        return "rde"
    if any(k.startswith(("position_agent.", "stop_loss_agent.", "profit_target_agent.")) for k in keys):
        return "mrms"
    return None


# ----------------------------------------------------------------------------- RDE
_RDE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^transformer_encoder\.input_projection\.(weight|bias)$"), r"input_projection.\1"),
    (re.compile(r"^transformer_encoder\.transformer\.layers\.(\d+)\.(.+)$"), r"transformer.layers.\1.\2"),
    (re.compile(r"^vae_head\.(fc_mu|fc_log_var)\.(\d+)\.(weight|bias)$"), r"\1.net.\2.\3"),
]
_RDE_PE = "transformer_encoder.pos_encoder.pe"
_RDE_HEADS = 8  # not recoverable from weights (in_proj is 3*d_model whatever the heads); the original used 8


def _import_rde(sd: dict[str, torch.Tensor]) -> _Imported:
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
    model = _fresh(lambda: RegimeVAE(config))
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
        f"decoder.* has no source in the legacy file: freshly initialised (seed {_IMPORT_SEED}), training-only; "
        "the artifact is for inference (encode / regime vector), not for resuming training.",
    ]
    _load_mapped(model, mapped, allow_missing=set(not_imported), what="RDE")
    return _Imported(model, dropped, not_imported, notes)


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


# ----------------------------------------------------------------------------- M-RMS
def _import_mrms(sd: dict[str, torch.Tensor]) -> _Imported:
    # The original's names are ours (module names were chosen to match); only shapes are inferred.
    try:
        h1, n_in = sd["position_agent.network.0.weight"].shape
        h2 = sd["position_agent.network.3.weight"].shape[0]
        n_sizes = sd["position_agent.network.6.weight"].shape[0]
        b1 = sd["stop_loss_agent.network.0.weight"].shape[0]
        b2 = sd["stop_loss_agent.network.3.weight"].shape[0]
        vh = sd["value_head.0.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise ArtifactError(f"The legacy M-RMS checkpoint lacks {exc} needed to infer its architecture.") from exc
    defaults = MRMSConfig()
    if n_in != defaults.input_dim:
        raise ArtifactError(
            f"The legacy M-RMS checkpoint takes {n_in} inputs; the original took {defaults.input_dim} "
            f"(synergy {defaults.synergy_dim} + account {defaults.account_dim}) and no other split is known."
        )
    config = MRMSConfig(position_hidden1=int(h1), position_hidden2=int(h2), n_sizes=int(n_sizes),
                        bounded_hidden1=int(b1), bounded_hidden2=int(b2), value_hidden=int(vh))
    model = _fresh(lambda: MRMSModel(config))
    _load_mapped(model, dict(sd), allow_missing=set(), what="M-RMS")
    notes = [f"input split synergy {config.synergy_dim} + account {config.account_dim} as in the original."]
    return _Imported(model, [], [], notes)


def _fresh(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a model with a fixed seed (for weights without a source) without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_IMPORT_SEED)
        return build()


def _load_mapped(model: nn.Module, mapped: dict[str, torch.Tensor], *, allow_missing: set[str], what: str) -> None:
    """Strictly load mapped legacy tensors; only `allow_missing` keys may keep their fresh values."""
    own = model.state_dict()
    converted: list[str] = []
    for k, t in list(mapped.items()):
        if k in own and t.dtype != own[k].dtype and t.is_floating_point() and own[k].is_floating_point():
            mapped[k] = t.to(own[k].dtype)
            converted.append(k)
    full = {k: v for k, v in own.items() if k in allow_missing and k not in mapped}
    full.update(mapped)
    problems = state_dict_problems(model, full)
    if problems:
        raise ArtifactError(
            f"The legacy {what} weights do not fit the model inferred from their shapes:\n  " + "\n  ".join(problems)
        )
    bad = non_finite_keys(mapped)
    if bad:
        raise ArtifactError(f"The legacy {what} checkpoint holds NaN/inf weights: {', '.join(bad)}. Not imported.")
    model.load_state_dict(full, strict=True)
    if converted:
        log.info("converted %d legacy tensors to the model's dtype", len(converted))


register_legacy_importer("rde", _import_rde)
register_legacy_importer("mrms", _import_mrms)


# ----------------------------------------------------------------------------- helpers
def is_checkpoint_global(name: str) -> bool:
    """Whether a state-dict checkpoint may import `name`: the allowlist, storage types, torch dtypes."""
    if name in _CHECKPOINT_GLOBALS or _STORAGE_TYPE.match(name):
        return True
    module, _, attr = name.rpartition(".")
    # torch.float32, torch.bfloat16, ...: a dtype is looked up by name on the torch module
    # (no code from the file runs), and must really be a dtype.
    return module == "torch" and isinstance(getattr(torch, attr, None), torch.dtype)


_TORCH_ADVICE = re.compile(r"weights_only\s*=\s*False|can still be loaded|add_safe_globals|safe_globals|WeightsUnpickler",
                           re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def torch_error_text(exc: BaseException) -> str:
    """A torch.load error in our words: the refused global if torch names one, never torch's advice
    to retry in its unsafe, code-running mode."""
    text = _ANSI.sub("", str(exc))
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it imports {found.group(1)}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not _TORCH_ADVICE.search(ln)]
    return lines[0][:200] if lines else type(exc).__name__


def _code_message(p: Path, globs: list[str]) -> str:
    shown = ", ".join(dict.fromkeys(globs))
    return (f"{p.name} needs code to load: its pickle imports {shown}. Model files must hold only tensors; it was "
            "refused and nothing in it ran. Do not load it in torch's unsafe mode; get the weights from a "
            "trusted source.")


def _placeholder_message(p: Path, size: int, strings: list[str]) -> str:
    return (f"{p.name} is a placeholder, not a model: a {size}-byte pickle holding {strings[0]!r} and no weights. "
            "There is nothing to import; train the model instead (algospace train ...).")


def _has_tensor(obj: Any) -> bool:
    if isinstance(obj, torch.Tensor):
        return True
    if isinstance(obj, Mapping):
        return any(_has_tensor(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_tensor(v) for v in obj)
    return False


def _strings_in(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, Mapping):
        return [s for k, v in obj.items() for s in _strings_in(k) + _strings_in(v)]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in _strings_in(v)]
    return []


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return f"a dict with keys {sorted(map(str, obj))[:8]}"
    return f"a {type(obj).__name__}"
