"""Views of a CheckReport: a rich table for the terminal and one self-contained HTML page.

The page is rendered by Jinja2 from `templates/check.html.j2` (shipped in the package); it has
no script, stylesheet or image from elsewhere, so it reads the same offline. `readiness_table`
renders the table alone, for a larger page (the demo's report) to embed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from algospace.check.result import CheckReport, Status

STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.NOT_TESTED: "yellow", Status.SKIPPED: "magenta"}


def rich_table(report: CheckReport) -> Table:
    table = Table(title=f"algospace check {report.models_dir}  (data: {report.data})", show_lines=False, expand=True)
    for col, kw in (("model", {"no_wrap": True}), ("check", {"max_width": 24}), ("result", {"no_wrap": True}),
                    ("what was found", {"ratio": 1, "min_width": 40})):
        table.add_column(col, **kw)
    for r in report.ordered():
        detail = r.detail + (f"\n[bold]do:[/bold] {r.remedy}" if r.remedy and r.status in (Status.FAIL, Status.SKIPPED) else "")
        table.add_row(r.model, f"{r.section}: {r.name}" if r.name != r.section else r.section,
                      f"[{STYLE[r.status]}]{r.status.value.upper()}[/]", detail)
    return table


def print_report(report: CheckReport, console: Console | None = None) -> None:
    console = console or Console()
    console.print(rich_table(report))
    colour = "green" if report.ok else "bold red"
    console.print(f"[{colour}]{report.verdict}[/]")


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("algospace.check", "templates"), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def readiness_table(report: CheckReport | dict[str, Any]) -> str:
    """The readiness table as an HTML fragment (a <section>), for embedding in another page."""
    data = report.to_dict() if isinstance(report, CheckReport) else report
    return _environment().get_template("readiness.html.j2").render(report=data)


def html_page(report: CheckReport | dict[str, Any]) -> str:
    """One self-contained HTML page of the check."""
    data = report.to_dict() if isinstance(report, CheckReport) else report
    return _environment().get_template("check.html.j2").render(report=data, table=readiness_table(data))
