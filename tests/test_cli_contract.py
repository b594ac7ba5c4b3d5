"""The command line's exit contract, for every command (README, "Exit codes"; `cli.contract`).

0: everything shown is sound; 1: data, model, input, config or file error, or a report that
found something unsound; 2: usage error. Every error is ONE line on stderr, `error: Kind: ...`.
Run in process through `cli.contract.run`, the function the console script calls.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import torch
import typer

from algospace.artifacts import save_artifact
from algospace.cli import app
from algospace.cli.contract import one_line, run
from algospace.models import RDEConfig, RegimeVAE

TINY = RDEConfig(input_dim=12, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=8, decoder_hidden=8)


def _paths() -> tuple[list[list[str]], list[list[str]]]:
    """(groups, leaf commands) of the whole app, as argument lists."""
    groups, leaves = [], []
    stack = [([], typer.main.get_command(app))]
    while stack:
        path, cmd = stack.pop()
        subs = getattr(cmd, "commands", None)
        (groups if subs else leaves).append(path)
        for name, sub in (subs or {}).items():
            stack.append((path + [name], sub))
    return groups, leaves


GROUPS, LEAVES = _paths()


def _call(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = run(app, args)
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str, prefix: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert lines[0].startswith(prefix), lines[0]
    assert not re.search(r"\b(\w+)\s+\1\b", lines[0], re.IGNORECASE), f"doubled word in: {lines[0]}"
    return lines[0]


@pytest.mark.parametrize("path", GROUPS + LEAVES, ids=lambda p: " ".join(p) or "algospace")
def test_an_unknown_option_is_a_one_line_usage_error(capsys, path):
    code, out, err = _call(capsys, path + ["--no-such-option"])
    assert code == 2 and out == ""
    line = _one_error_line(err, "error: UsageError: No such option: --no-such-option")
    assert f"algospace {' '.join(path)}".strip() + " --help" in line


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "algospace")
def test_groups_unknown_command_is_usage_error_and_bare_group_prints_help(capsys, path):
    code, out, err = _call(capsys, path + ["no-such-command"])
    assert code == 2 and out == ""
    _one_error_line(err, "error: UsageError: No such command 'no-such-command'")
    code, out, err = _call(capsys, path)
    assert code == 0 and "Example" in out and err == ""


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_missing_required_options_and_extra_arguments_are_usage_errors(capsys, path):
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    if any(p.required for p in cmd.params):
        code, out, err = _call(capsys, path)
        assert code == 2, err
        _one_error_line(err, "error: UsageError: Missing ")
    code, out, err = _call(capsys, path + ["--help"])
    assert code == 0 and "Example" in out
    if not any(p.param_type_name == "argument" for p in cmd.params):
        required = [a for p in cmd.params if p.required for a in (p.opts[0], "x")]
        code, out, err = _call(capsys, path + required + ["surplus-argument"])
        assert code == 2
        _one_error_line(err, "error: UsageError: Got unexpected extra argument")


# Per leaf command: an invocation with a mistyped or unknown value (exit 2), and one naming a file
# or directory that does not exist (exit 1) with the error kind expected. A new command must be
# added here (the test below fails otherwise).
CASES: dict[str, tuple[list[str], list[str] | None, str]] = {
    "data samples": (["--bogus-flag"], None, ""),
    "data info": (["spy-1m", "--repairs", "many"], ["info", "{missing}.csv"], "DataError"),
    "data continuous": (["a.csv", "--out", "o.parquet", "--roll-days", "many"],
                        ["continuous", "{missing}.csv", "{missing}2.csv", "--out", "{tmp}/c.parquet"], "DataError"),
    "data bars": (["--data", "spy-1m", "--minutes", "ten"], ["bars", "--data", "{missing}.csv"], "DataError"),
    "features build": (["--data", "x", "--out", "x.parquet", "--quiet", "yes"],
                       ["build", "--data", "{missing}.csv", "--out", "{tmp}/f.parquet"], "DataError"),
    "features describe": (["--markdown", "--spec"], ["describe", "--spec", "{missing}.json"], "ArtifactError"),
    "models inspect": (["a", "b"], ["inspect", "{missing}"], "ArtifactError"),
    "models verify": (["x", "--require-trained=maybe"], ["verify", "{missing}"], "ArtifactError"),
    "models list": (["x", "y"], ["list", "{missing}"], "ArtifactError"),
    "models import-legacy": (["x.pth", "--kind", "rde"],
                             ["import-legacy", "{missing}.pth", "--kind", "rde", "--out", "{tmp}/o"], "ArtifactError"),
    "train rde": (["--out", "o", "--preset", "huge"], ["rde", "--data", "{missing}.csv", "--out", "{tmp}/o"], "DataError"),
    "eval rde": (["--target", "sideways"], ["rde", "--artifact", "{missing}", "--out", "{tmp}/e"], "ArtifactError"),
    "infer rde": (["--artifact", "a", "--out", "o.parquet", "--backend", "gpu-magic"],
                  ["rde", "--artifact", "{missing}", "--out", "{tmp}/r.parquet"], "ArtifactError"),
    "demo": (["--max-minutes", "soon"], None, ""),
    "train mrms": (["--out", "o", "--preset", "huge"], ["mrms", "--data", "{missing}.csv", "--out", "{tmp}/o"], "DataError"),
    "train core": (["--models", "m", "--preset", "huge"], ["core", "--models", "{missing}"], "InputError"),
    "eval mrms": (["--artifact", "a", "--bootstrap", "many"], ["mrms", "--artifact", "{missing}"], "ArtifactError"),
    "eval core": (["--models", "m", "--n-boot", "many"], ["core", "--models", "{missing}"], "InputError"),
    "backtest": (["--models", "m", "--out", "o", "--signals", "all"], ["backtest", "--models", "{missing}", "--out", "{tmp}/b"],
                 "InputError"),
    "run": (["--models", "m", "--out", "o", "--poll", "fast"], ["run", "--models", "{missing}", "--out", "{tmp}/r"], "InputError"),
    "check": (["x", "--json"], None, ""),
    "report": (["--run"], ["report", "--run", "{missing}"], "InputError"),
}


def test_every_leaf_command_has_a_case():
    assert sorted(" ".join(p) for p in LEAVES) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_values_exit_2_and_missing_files_exit_1_with_one_line(capsys, tmp_path, name):
    path = name.split()
    bad, missing, kind = CASES[name]
    if bad:
        code, out, err = _call(capsys, path + bad)
        assert code == 2, err
        _one_error_line(err, "error: UsageError: ")
    if missing is not None:
        args = [a.format(missing=tmp_path / "nowhere", tmp=tmp_path) for a in missing]
        code, out, err = _call(capsys, path[:-1] + args)
        assert code == 1, err
        line = _one_error_line(err, f"error: {kind}: ")
        assert "nowhere" in line


def test_choice_lists_match_the_library():
    from algospace.cli.choices import Backend, Features, Instrument, Pooling, Preset, Signals, Target
    from algospace.models.rde import POOLINGS
    from algospace.engines.rde import BACKENDS
    from algospace.runtime.detect import SOURCES
    from algospace.sim.market import FUTURES
    from algospace.training.rde_config import RDEModelSize, RDETrainConfig

    assert get_args(Signals) == SOURCES and get_args(Instrument) == FUTURES

    assert get_args(Backend) == BACKENDS
    assert get_args(Target) == get_args(RDETrainConfig.model_fields["target"].annotation)
    assert get_args(Pooling) == POOLINGS == get_args(RDEModelSize.model_fields["pooling"].annotation)
    assert get_args(Features) == get_args(RDETrainConfig.model_fields["features"].annotation)
    for preset in get_args(Preset):
        RDETrainConfig.preset(preset)


def test_help_and_version_exit_0(capsys):
    code, out, err = _call(capsys, ["--help"])
    assert code == 0 and "Example" in out and err == ""
    code, out, err = _call(capsys, ["--version"])
    assert code == 0 and out.startswith("algospace ") and err == ""


def test_a_bad_config_is_one_line_naming_every_problem(capsys, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("data:\n  timezone: Mars/Olympus\n  instrument: ZZ\nseed: soon\nmystery: 1\n")
    code, out, err = _call(capsys, ["--config", str(p), "data", "samples"])
    assert code == 1 and out == ""
    line = _one_error_line(err, "error: ConfigError: ")
    for needle in ("data.timezone", "Mars/Olympus", "seed", "mystery"):
        assert needle in line, needle
    p.write_text("data: [unclosed\n")
    code, out, err = _call(capsys, ["--config", str(p), "data", "samples"])
    assert code == 1 and "line 2" in _one_error_line(err, "error: ConfigError: ")
    code, out, err = _call(capsys, ["--config", str(tmp_path), "data", "samples"])
    assert code == 1 and "is a directory" in _one_error_line(err, "error: ConfigError: ")


def test_a_file_system_error_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = _call(capsys, ["eval", "rde", "--preset", "tiny", "--out", str(blocker / "eval")])
    assert code == 1
    assert "a-file" in _one_error_line(err, "error: ")


def test_debug_shows_the_traceback(tmp_path):
    from algospace.errors import DataError

    with pytest.raises(DataError):
        run(app, ["--debug", "data", "info", str(tmp_path / "missing.csv")])


def _artifact(path: Path) -> Path:
    torch.manual_seed(0)
    save_artifact(RegimeVAE(TINY), path, kind="rde", provenance="trained")
    return path


def _flip_a_weight_byte(path: Path) -> None:
    w = path / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))


def test_reports_exit_0_only_when_everything_shown_is_sound(capsys, tmp_path):
    runs = tmp_path / "runs"
    good, bad = _artifact(runs / "good"), _artifact(runs / "bad")
    for cmd in (["models", "verify", str(good)], ["models", "inspect", str(good)], ["models", "list", str(runs / "good")]):
        code, out, err = _call(capsys, cmd)
        assert code == 0 and err == "", (cmd, err)
    _flip_a_weight_byte(bad)
    code, out, err = _call(capsys, ["models", "verify", str(bad)])
    assert code == 1 and "FAILED" in out  # the report on stdout, the verdict on stderr
    line = _one_error_line(err, "error: ArtifactError: ")
    assert "checksums" in line and "sha256 mismatch" in line and "see the lines above" not in line
    code, out, err = _call(capsys, ["models", "inspect", str(bad)])
    assert code == 1 and "FAILED" in out and "sha256 mismatch" in _one_error_line(err, "error: ArtifactError: ")
    code, out, err = _call(capsys, ["models", "list", str(runs)])
    assert code == 1 and "1 failed verification" in out
    line = _one_error_line(err, "error: ArtifactError: 1 of 2 artifact(s)")
    assert "bad" in line and "checksums" in line


def test_inspecting_a_placeholder_legacy_file_exits_1(capsys, tmp_path):
    import pickle

    ph = tmp_path / "placeholder.pth"
    ph.write_bytes(pickle.dumps({"weights": "placeholder_weights_for_mrms"}))
    code, out, err = _call(capsys, ["models", "inspect", str(ph)])
    assert code == 1 and "placeholder" in out
    assert "placeholder" in _one_error_line(err, "error: ArtifactError: ")


def test_one_line_joins_continuation_lines():
    assert one_line("x failed verification:\n  a bad\n  b bad\n") == "x failed verification: a bad; b bad"


def test_the_console_script_follows_the_contract(tmp_path):
    """The real process: exit status and stderr as a shell sees them."""
    proc = subprocess.run([sys.executable, "-m", "algospace", "models", "verify", "--bogus"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == ["error: UsageError: No such option: --bogus; see 'algospace models verify --help'"]
    proc = subprocess.run([sys.executable, "-m", "algospace", "models", "verify", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("error: ArtifactError: ")
