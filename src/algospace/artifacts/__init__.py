"""Model artifacts: safe, versioned, verified saving and loading, and legacy .pth import.

An artifact is a directory: `model.safetensors` (weights only), `config.json` (architecture)
and `manifest.json` (format version, kind, checksums, provenance, feature-spec and training
fingerprints), plus the extra files its kind carries (`layout.py`: an RDE carries its fitted
`feature_spec/` and `training.json`). Loading never unpickles, loads state dicts strictly and refuses untrained or
tampered artifacts unless the caller opts in. See docs/artifacts.md.
"""

from algospace.artifacts.format import (
    CONFIG_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    WEIGHTS_FILE,
    ArtifactMetadata,
    LegacySource,
    Manifest,
    TrainingData,
)
from algospace.artifacts.inspect import ArtifactReport, Check, LegacyReport, find_artifacts, inspect_artifact, verify_artifact
from algospace.artifacts.layout import (
    FEATURE_SPEC_DIR,
    TRAINING_FILE,
    KindLayout,
    extras_writer,
    layout_of,
    read_feature_spec,
    read_training,
    register_layout,
)
from algospace.artifacts.legacy import import_legacy, register_legacy_importer
from algospace.artifacts.load import load_artifact, read_manifest
from algospace.artifacts.safety import require_safe_torch
from algospace.artifacts.save import save_artifact

__all__ = [
    "CONFIG_FILE",
    "FEATURE_SPEC_DIR",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "WEIGHTS_FILE",
    "ArtifactMetadata",
    "ArtifactReport",
    "Check",
    "LegacyReport",
    "LegacySource",
    "Manifest",
    "TRAINING_FILE",
    "TrainingData",
    "KindLayout",
    "extras_writer",
    "layout_of",
    "read_feature_spec",
    "read_training",
    "register_layout",
    "find_artifacts",
    "import_legacy",
    "inspect_artifact",
    "load_artifact",
    "read_manifest",
    "register_legacy_importer",
    "require_safe_torch",
    "save_artifact",
    "verify_artifact",
]
