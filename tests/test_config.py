"""Configuration: strict YAML, validated values, clear ConfigErrors, the --config flag."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.config import AppConfig, load_config
from algospace.errors import ConfigError


def test_defaults_work_without_a_file():
    cfg = load_config(None)
    assert cfg == AppConfig()
    assert cfg.data.timezone == "UTC"


def test_yaml_with_user_instrument_loads(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("data:\n  instrument: NQ\n  timezone: America/Chicago\ninstruments:\n"
                 "  - {name: NQ, point_value: 20, tick_size: 0.25, session: cme-globex}\nseed: 7\n")
    cfg = load_config(p)
    assert cfg.data.instrument == "NQ" and cfg.instruments[0].point_value == 20 and cfg.seed == 7


@pytest.mark.parametrize(
    "text, needle",
    [
        ("data:\n  timezon: UTC\n", "timezon"),  # typo: unknown key
        ("data:\n  timezone: Mars/Base\n", "unknown timezone"),
        ("data:\n  instrument: ZZ\n", "ZZ"),
        ("instruments:\n  - {name: X, point_value: 1, tick_size: 0.1, session: lunar}\n", "unknown session"),
        ("instruments:\n  - {name: X, point_value: -1, tick_size: 0.1}\n", "point_value"),
        ("- just\n- a list\n", "mapping"),
        ("data: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_problem(tmp_path, text, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(p)


def test_cli_config_flag_reports_bad_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("nonsense_key: 1\n")
    result = CliRunner().invoke(app, ["--config", str(p), "data", "samples"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)


def test_console_entry_point_prints_one_line_error(tmp_path):
    import subprocess
    import sys

    p = tmp_path / "bad.yaml"
    p.write_text("nonsense_key: 1\n")
    proc = subprocess.run([sys.executable, "-c", "from algospace.cli import main; main()", "--config", str(p), "data", "samples"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ConfigError:") and "Traceback" not in proc.stderr
