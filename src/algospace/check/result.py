"""The typed result of `algospace check`: one row per check, per model, and the verdict.

A report (terminal, JSON, HTML, the demo's page) is built from `CheckReport.to_dict()`, so every
view shows the same rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

MODELS = ("rde", "mrms", "core", "set")
SECTIONS = ("integrity", "provenance", "size", "compatibility", "input probes", "output sanity", "speed and memory",
            "devices", "evaluation")


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_TESTED = "not tested"  # e.g. CUDA on a machine without a GPU: never reported as ready
    SKIPPED = "skipped"  # could not run because an earlier check of the model failed


@dataclass(frozen=True)
class Row:
    """One check of one model (`model` is rde, mrms, core, or `set` for the three together)."""

    model: str
    section: str
    name: str
    status: Status
    detail: str  # what was measured or found
    remedy: str = ""  # what to do, for a failure
    values: dict[str, Any] = field(default_factory=dict)  # the numbers behind `detail`, for reports

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d


@dataclass
class CheckReport:
    """Every row of a check of one models directory."""

    models_dir: Path
    data: str
    rows: list[Row] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    def add(self, model: str, section: str, name: str, status: Status, detail: str, remedy: str = "",
            **values: Any) -> Row:
        row = Row(model, section, name, status, detail, remedy, values)
        self.rows.append(row)
        return row

    def ordered(self) -> list[Row]:
        """Rows grouped by model (rde, mrms, core, the set), sections in SECTIONS order, else as added."""
        def key(r: Row) -> tuple[int, int]:
            return (MODELS.index(r.model) if r.model in MODELS else len(MODELS),
                    SECTIONS.index(r.section) if r.section in SECTIONS else len(SECTIONS))
        return sorted(self.rows, key=key)

    @property
    def failures(self) -> list[Row]:
        """Rows that keep the models from being ready (failed, or not run because of a failure)."""
        return [r for r in self.ordered() if r.status in (Status.FAIL, Status.SKIPPED)]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.failures

    @property
    def verdict(self) -> str:
        if not self.ok:
            models = sorted({r.model for r in self.failures})
            return f"NOT READY: {len(self.failures)} checks failed or could not run ({', '.join(models)})"
        untested = sorted({r.name for r in self.rows if r.status is Status.NOT_TESTED})
        return "READY" + (f" (not tested: {', '.join(untested)})" if untested else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "models_dir": str(self.models_dir),
            "data": self.data,
            "ok": self.ok,
            "verdict": self.verdict,
            "machine": self.machine,
            "rows": [r.to_dict() for r in self.ordered()],
        }
