"""A writer killed (SIGKILL) in the middle of a save leaves the previous artifact intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from algospace.artifacts import load_artifact, save_artifact, verify_artifact
from algospace.artifacts.atomic_dir import is_temp_name
from algospace.models import RDEConfig, RegimeVAE

# ~2.5M parameters (10 MB of weights): a save takes long enough to be caught in the middle.
CONFIG = "RDEConfig()"

WRITER = textwrap.dedent(
    f"""
    import sys, torch
    SCALE = {2.0**-20!r}  # exact in float32; small enough that the load-time probe sees a sane model
    from algospace.artifacts import save_artifact
    from algospace.models import RDEConfig, RegimeVAE
    model = RegimeVAE({CONFIG})
    print("ready", flush=True)
    for i in range(1, 10_000):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(i * SCALE)  # every tensor of save i holds i * SCALE
        save_artifact(model, sys.argv[1], kind="rde", provenance="trained", metadata={{"seed": i}})
    """
)


def _constant(model: torch.nn.Module) -> float:
    """The single value all parameters hold; fails if tensors from two saves were mixed."""
    values = {float(v) for p in model.parameters() for v in p.detach().unique()}
    assert len(values) == 1, f"mixed artifact: parameters hold {sorted(values)[:5]}"
    return values.pop()


@pytest.mark.timeout(120)
def test_sigkill_during_save_keeps_a_complete_artifact(tmp_path: Path) -> None:
    path = tmp_path / "art"
    model = RegimeVAE(RDEConfig())  # the same config as CONFIG, which the writer subprocess uses
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.0)
    save_artifact(model, path, kind="rde", provenance="trained", metadata={"seed": 0})

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        # Once two saves have replaced the artifact, kill the writer the moment its temp
        # directory holds weights but no manifest yet: in the middle of writing a save.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seed = _manifest_seed(path)
            if seed is not None and seed >= 2 and _mid_save(tmp_path):
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.0002)
        else:
            pytest.fail("never saw a save in progress (weights in a temp sibling) within 60 s")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    leftovers = [p for p in tmp_path.iterdir() if is_temp_name(p.name)]
    assert leftovers, "the kill should have left the writer's temp directory behind"
    report = verify_artifact(path)
    assert report.ok, [c.detail for c in report.checks]
    loaded, manifest = load_artifact(path, device="cpu")
    assert _constant(loaded) / 2.0**-20 == float(manifest.seed) >= 2.0

    # A later save is not disturbed by the leftovers, and removes them (their writer is dead).
    save_artifact(model, path, kind="rde", provenance="trained", metadata={"seed": 0})
    assert [p.name for p in tmp_path.iterdir()] == ["art"]
    loaded, manifest = load_artifact(path, device="cpu")
    assert manifest.seed == 0 and _constant(loaded) == 0.0


def _mid_save(parent: Path) -> bool:
    for p in parent.iterdir():
        if is_temp_name(p.name) and (p / "model.safetensors").exists() and not (p / "manifest.json").exists():
            return True
    return False


def _manifest_seed(path: Path) -> int | None:
    try:
        return json.loads((path / "manifest.json").read_text()).get("seed")
    except (OSError, ValueError):
        return None
