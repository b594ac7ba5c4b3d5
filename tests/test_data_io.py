"""algospace.io: atomic writers (mode like a normal open, old file intact on failure, no temp left)."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from algospace.errors import InputError
from algospace.io import atomic_write_bytes, atomic_write_parquet, atomic_write_text, atomic_write_with


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_written_files_are_0644_under_umask_022(tmp_path, umask022):
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.DatetimeIndex(["2019-03-01", "2019-03-02"], tz="UTC", name="timestamp"))
    table = pa.table({"y": [1, 2]}).replace_schema_metadata({b"algospace.note": b"kept"})
    atomic_write_text(tmp_path / "a" / "t.json", "{}\n")  # parent directories are created
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    atomic_write_parquet(tmp_path / "f.parquet", frame)
    atomic_write_parquet(tmp_path / "t.parquet", table)
    for name in ["a/t.json", "b.bin", "f.parquet", "t.parquet"]:
        assert _mode(tmp_path / name) == 0o644, name
    assert (tmp_path / "a" / "t.json").read_text() == "{}\n" and (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet"), frame)
    assert pq.read_schema(tmp_path / "t.parquet").metadata[b"algospace.note"] == b"kept"
    old = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private.txt") == 0o600  # the umask is respected, like open()


def test_failing_writer_keeps_previous_file_and_leaves_no_temp(tmp_path, umask022):
    target = tmp_path / "bars.parquet"
    atomic_write_text(target, "previous")

    def half_then_fail(tmp):
        tmp.write_bytes(b"half a fi")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_with(target, half_then_fail)
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.parquet"]
    with pytest.raises(InputError, match="found list"):
        atomic_write_parquet(target, [1, 2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.parquet"] and target.read_text() == "previous"


def test_atomic_write_with_keeps_the_suffix_for_savefig(tmp_path, umask022):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    out = atomic_write_with(tmp_path / "plot.png", lambda p: fig.savefig(p))  # format from the name
    plt.close(fig)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and _mode(out) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def test_cli_outputs_use_the_atomic_writer(tmp_path, umask022):
    from typer.testing import CliRunner

    from algospace.cli import app
    from algospace.data import load_bars

    src = tmp_path / "ticks.csv"
    src.write_text("timestamp,price,volume\n2013-09-03T14:00:00Z,1650.25,2\n2013-09-03T14:07:00Z,1650.5,1\n")
    out = tmp_path / "out" / "bars.parquet"
    res = CliRunner().invoke(app, ["data", "bars", "--data", str(src), "--minutes", "5", "--instrument", "ES", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert _mode(out) == 0o644 and len(load_bars(out)) == 2
    assert sorted(p.name for p in out.parent.iterdir()) == ["bars.parquet"]
