"""Top-level package: version, error hierarchy, CLI help with examples on every command."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

import algospace
from algospace.cli import app


def test_error_hierarchy_is_importable_from_the_top_level():
    for name in ("DataError", "InputError", "ArtifactError", "ConfigError"):
        cls = getattr(algospace, name)
        assert issubclass(cls, algospace.AlgoSpaceError) and issubclass(cls, Exception)
    assert not issubclass(algospace.DataError, algospace.InputError)


def test_public_api_resolves_lazily():
    for name in algospace.__all__:
        assert getattr(algospace, name) is not None, name


def test_version_flag():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and algospace.__version__ in result.output


def _commands(group: typer.Typer, prefix: list[str]):
    click_group = typer.main.get_command(group)
    stack = [(prefix, click_group)]
    while stack:
        path, cmd = stack.pop()
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append((path + [name], sub))


def test_every_command_has_help_with_an_example():
    paths = list(_commands(app, []))
    assert len(paths) > 10
    for path in paths:
        result = CliRunner().invoke(app, path + ["--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"`algospace {' '.join(path)} --help` shows no example"


def test_the_rde_does_not_import_the_signal_side():
    """`algospace.features` imports lazily: the engine loads regime/ only (issue 9)."""
    import subprocess
    import sys

    code = ("import sys; import algospace.engines.rde; "
            "print(sorted(m for m in sys.modules if m.startswith('algospace.features.') and 'regime' not in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "indicators" not in out and "matrices" not in out and "synergy" not in out, out
    import algospace.features as f

    assert set(f.__all__) <= set(dir(f))
    for name in f.__all__:
        assert getattr(f, name) is not None
