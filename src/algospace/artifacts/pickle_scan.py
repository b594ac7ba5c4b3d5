"""Reading a legacy .pth file without ever running code from it.

Two steps:
1. A static scan of the pickle opcodes with `pickletools.genops`, which only parses the
   byte stream and never executes or imports anything. It recognises files `torch.load`
   cannot (a plain `pickle.dump` of a placeholder dict has no torch magic number) and names
   any global a file would import, so code-carrying files are refused before any loader
   sees them.
2. `torch.load(weights_only=True)` for real torch checkpoints (zip or legacy format): torch's
   restricted unpickler builds tensors and containers only and rejects every other global.

`probe_file` does both and says what the file is; `legacy.py` imports what it found.
"""

from __future__ import annotations

import hashlib
import io
import pickletools
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from algospace.artifacts.safety import require_safe_torch
from algospace.errors import ArtifactError

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
