"""The layers of docs/architecture.md hold: no package imports one it may not."""

from __future__ import annotations

import ast
from pathlib import Path

import algospace

ROOT = Path(algospace.__file__).parent
BASE = {"errors", "__init__"}  # everyone may raise our errors and read the package version

# package -> what it may import at module level; LAZY: what it may import inside a function only.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_pydantic": set(),
    "_lazy": set(),
    "hashing": set(),
    "io": set(),
    "devices": set(),
    "config": {"_pydantic"},
    "data": {"io", "config"},
    "features": {"_pydantic", "_lazy", "hashing", "io", "data"},
    "signals": {"config", "data", "features"},
    "sim": {"_pydantic", "config", "data", "features", "signals"},
    "models": set(),
    "artifacts": {"_pydantic", "hashing", "io", "devices", "models"},
    "engines": {"artifacts", "models", "features", "data", "sim", "signals"},
    "training": {"config", "hashing", "io", "devices", "data", "features", "models", "artifacts", "engines", "signals",
                 "sim"},
    "evaluation": {"config", "hashing", "io", "devices", "data", "features", "models", "artifacts", "engines", "signals",
                   "sim"},
    "runtime": {"_pydantic", "config", "hashing", "io", "devices", "data", "features", "models", "artifacts", "engines", "signals",
                "sim"},
    "check": {"config", "hashing", "io", "devices", "data", "features", "models", "artifacts", "engines", "signals",
              "sim", "training", "evaluation", "runtime"},
}
LAZY: dict[str, set[str]] = {
    "config": {"data"},  # validators read the one list of session calendars and instruments
    "artifacts": {"features"},  # layout.read_feature_spec loads a stored FeatureSpec
    "evaluation": {"training"},  # to train the synthetic-regime model it evaluates
    "training": {"evaluation"},  # validation metrics (Sortino, calibration) while training the M-RMS and core
}
# evaluation/core_eval.py builds the core's data set with training/core_data.py (one builder for
# train and eval, so both see the same rows and split): a module-level import of training.
EXCEPTIONS = {("evaluation/core_eval.py", "training")}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported algospace package, inside a function?) for every `from algospace.x import ...`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "algospace":
            parts = node.module.split(".")
            out.append((parts[1] if len(parts) > 1 else "__init__", node.col_offset > 0))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "algospace":
                    out.append((parts[1] if len(parts) > 1 else "__init__", node.col_offset > 0))
    return out


def test_every_package_imports_only_what_its_layer_allows() -> None:
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        package = rel.parts[0].removesuffix(".py")
        if package not in ALLOWED:  # cli/, __init__, __main__: the top, may import anything
            continue
        for target, lazy in _imports(path):
            if target in BASE or target == package or (rel.as_posix(), target) in EXCEPTIONS:
                continue
            if target not in ALLOWED[package] and not (lazy and target in LAZY.get(package, set())):
                bad.append(f"{rel}: imports {target}{' (in a function)' if lazy else ''}")
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(bad)
