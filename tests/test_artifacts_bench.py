"""benchmarks/bench_artifacts.py's docs writer: only its section changes, and the file stays 0644."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_artifacts.py"


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    spec = importlib.util.spec_from_file_location("bench_artifacts", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs" / "benchmarks.md")  # write here, not into the repo
    return module


def test_update_docs_replaces_its_section_with_a_readable_file(bench, tmp_path: Path) -> None:
    docs = tmp_path / "docs" / "benchmarks.md"
    docs.parent.mkdir()
    docs.write_text("# Benchmarks\n\n## Features\nkeep me\n\n## Artifacts\nold\n\n## Data\nkeep too\n")
    old_umask = os.umask(0o022)
    try:
        bench.update_docs("## Artifacts\nnew table")
    finally:
        os.umask(old_umask)
    text = docs.read_text()
    assert "new table" in text and "old" not in text and "keep me" in text and "keep too" in text
    assert stat.S_IMODE(docs.stat().st_mode) == 0o644
    assert sorted(p.name for p in docs.parent.iterdir()) == ["benchmarks.md"]  # no temp file left
