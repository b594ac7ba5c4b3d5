"""The artifact layout: which files an artifact of each kind holds, and the one reader and
writer of each of them (in the spirit of `save_pretrained` / `from_pretrained`).

Every artifact holds `model.safetensors`, `config.json` and `manifest.json` (`format.py`).
A kind may carry more: an RDE carries the fitted feature spec it was trained on
(`feature_spec/`, required by its engine: a model without its inputs' scaling cannot serve)
and its training record (`training.json`: window, instrument, splits, metrics). A new model
kind (the M-RMS, the decision core) declares its extras with `register_layout` and writes
and reads them here, so no other module knows a file name inside an artifact.

An artifact is a directory of regular files and directories: `tree_entries` lists what is
there without following links or opening anything, so a symlink, FIFO or device is named as
such before any byte of it is read.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from algospace.artifacts.format import Manifest
from algospace.errors import ArtifactError

if TYPE_CHECKING:
    from algospace.features import FeatureSpec

FEATURE_SPEC_DIR = "feature_spec"
TRAINING_FILE = "training.json"


@dataclass(frozen=True)
class KindLayout:
    """The extra files an artifact of one kind carries beside weights, config and manifest."""

    kind: str
    # Extras without which an engine cannot serve the model (e.g. the RDE's fitted feature spec).
    required: tuple[str, ...] = ()
    # Extras that may be there (e.g. the training record).
    optional: tuple[str, ...] = ()
    # How to get an artifact that has the required extras.
    remedy: str = "re-save it with them"


_LAYOUTS: dict[str, KindLayout] = {}


def register_layout(kind: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), remedy: str = "") -> KindLayout:
    """Declare the extra files of a model kind (its engine then checks them with `require_extras`)."""
    layout = KindLayout(kind, tuple(required), tuple(optional), remedy or KindLayout.remedy)
    _LAYOUTS[kind] = layout
    return layout


def layout_of(kind: str) -> KindLayout:
    """The layout of `kind`: no extras unless the kind registered some."""
    return _LAYOUTS.get(kind, KindLayout(kind))


def require_extras(root: Path, manifest: Manifest) -> None:
    """ArtifactError naming every required extra of the artifact's kind that it lacks."""
    layout = layout_of(manifest.kind)
    missing = [name for name in layout.required if not any(_covers(name, rel) for rel in manifest.files)]
    if missing:
        shown = ", ".join(f"{m}/" if "." not in m else m for m in missing)
        raise ArtifactError(f"{manifest.kind.upper()} artifact {root} has no {shown}; {layout.remedy}.")


def _covers(name: str, rel: str) -> bool:
    return rel == name or rel.startswith(name + "/")


# --- writing -----------------------------------------------------------------------------------
def extras_writer(
    *, feature_spec: FeatureSpec | None = None, training: Mapping[str, Any] | None = None
) -> Callable[[Path], None]:
    """A `save_artifact(write_extra=...)` callback that writes the given extras into the artifact.

    Example:
        save_artifact(model, out, kind="rde", provenance="trained",
                      write_extra=extras_writer(feature_spec=spec, training={"window": 48}))
    """

    def write(directory: Path) -> None:
        directory = Path(directory)
        if feature_spec is not None:
            feature_spec.save(directory / FEATURE_SPEC_DIR)
        if training is not None:
            (directory / TRAINING_FILE).write_text(json.dumps(dict(training), indent=2, sort_keys=True, default=str))

    return write


# --- reading -----------------------------------------------------------------------------------
def has_feature_spec(root: Path, manifest: Manifest) -> bool:
    """Whether the artifact stores a feature spec (by its manifest, so an unlisted copy does not count)."""
    return any(_covers(FEATURE_SPEC_DIR, rel) for rel in manifest.files)


def read_feature_spec(root: Path, manifest: Manifest) -> FeatureSpec:
    """The fitted FeatureSpec stored in the artifact, checked against the manifest's fingerprint."""
    from algospace.features import FeatureSpec  # features are heavy; only artifacts with a spec need them

    try:
        spec = FeatureSpec.load(Path(root) / FEATURE_SPEC_DIR)
    except ArtifactError:
        raise
    except Exception as exc:  # the spec's own DataError/InputError/ConfigError: the stored file is bad
        raise ArtifactError(f"{FEATURE_SPEC_DIR}/ of {root} does not load: {exc}") from exc
    expected = manifest.feature_spec_fingerprint
    if expected is None:
        raise ArtifactError(
            f"{FEATURE_SPEC_DIR}/ of {root} is stored (fingerprint {spec.fingerprint[:16]}) but the manifest records "
            "no feature_spec_fingerprint; re-save the artifact with it"
        )
    if spec.fingerprint != expected:
        raise ArtifactError(
            f"{FEATURE_SPEC_DIR}/ of {root} has fingerprint {spec.fingerprint[:16]} but the manifest says the model "
            f"was trained on {expected[:16]}; the artifact is inconsistent, restore or re-train it"
        )
    return spec


def read_training(root: Path) -> dict[str, Any]:
    """The artifact's training record (`training.json`), or {} when it has none."""
    path = Path(root) / TRAINING_FILE
    if not path.exists():
        return {}
    try:
        training = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"Artifact {root}: {TRAINING_FILE} is unreadable ({exc}); retrain or restore it.") from exc
    if not isinstance(training, dict):
        raise ArtifactError(f"Artifact {root}: {TRAINING_FILE} must hold a JSON object.")
    return training


# --- what is on disk -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TreeEntries:
    """What lies under an artifact directory, found with lstat only (nothing is opened or followed)."""

    files: dict[str, int]  # regular file -> size in bytes, by POSIX relative path
    special: dict[str, str]  # anything else (symlink, FIFO, device, socket) -> what it is


def tree_entries(root: Path) -> TreeEntries:
    """Every entry under `root` (directories descended, never through a link)."""
    files: dict[str, int] = {}
    special: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = Path(full).relative_to(root).as_posix()
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                files[rel] = st.st_size
            elif not stat.S_ISDIR(st.st_mode):
                special[rel] = describe_special(full, st.st_mode)
    return TreeEntries(dict(sorted(files.items())), dict(sorted(special.items())))


def describe_special(path: str | Path, mode: int | None = None) -> str:
    """What a non-regular file is, in words: "a symbolic link to /dev/zero", "a FIFO (named pipe)", ..."""
    mode = os.lstat(path).st_mode if mode is None else mode
    if stat.S_ISLNK(mode):
        return f"a symbolic link to {os.readlink(path)}"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


register_layout(
    "rde",
    required=(FEATURE_SPEC_DIR,),
    optional=(TRAINING_FILE,),
    remedy="its engine needs the fitted feature spec it was trained on; retrain it with `algospace train rde`",
)

__all__ = [
    "FEATURE_SPEC_DIR",
    "TRAINING_FILE",
    "KindLayout",
    "TreeEntries",
    "describe_special",
    "extras_writer",
    "has_feature_spec",
    "layout_of",
    "read_feature_spec",
    "read_training",
    "register_layout",
    "require_extras",
    "tree_entries",
]
