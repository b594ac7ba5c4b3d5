"""The run report: a tiny real run (tiny trained models, a model backtest, a rule baseline, a check
and inferred regimes) built into one page, parsed: every section there, nothing fetched from
elsewhere, every image embedded; a missing input becomes a line naming the command that makes it."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from algospace.check import run_check
from algospace.check.inputs import MarketData
from algospace.cli import app
from algospace.cli.contract import run as cli_run
from algospace.data import get_instrument
from algospace.engines.rde import RegimeDetectionEngine
from algospace.io import atomic_write_parquet, atomic_write_text
from algospace.report import build_report, run_baselines
from algospace.runtime.deciders import ModelDecider
from algospace.runtime.models import ModelSet
from algospace.runtime.runner import Runtime, RuntimeConfig
from algospace.runtime.sources import ReplaySource

SECTIONS = {"regimes", "regime-map", "equity", "trades", "readiness", "training", "provenance", "meanings"}


@pytest.fixture(scope="module")
def run_dir(tiny_models, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    models_src, bars = tiny_models
    run = tmp_path_factory.mktemp("run")
    models = Path(shutil.copytree(models_src, run / "models"))
    period = bars[bars.index >= "2017-07-01"]  # warm-up from July; trades in the core's held-out period
    ms = ModelSet.load(models, device="cpu")
    start = pd.Timestamp(ms.core.training["split_boundaries"]["test"]).to_pydatetime()
    cfg = RuntimeConfig(instrument="ES", trade_from=start)
    rt = Runtime(get_instrument("SPY"), lambda bus, inst: ModelDecider(bus, ms, inst), cfg, run / "backtest",
                 models_hashes=ms.hashes(), data_name="spy-1m")
    rt.run(ReplaySource(period), end_of_data=True)
    run_baselines(period, run, trade_from=start, data_name="spy-1m")
    report = run_check(models, MarketData.load(bars), latency_calls=20, memory_calls=50, device="cpu")
    atomic_write_text(run / "check.json", json.dumps(report.to_dict()))
    atomic_write_parquet(run / "regimes.parquet", RegimeDetectionEngine.load(models / "rde", device="cpu").regime_series(bars))
    return run, bars


class Page(HTMLParser):
    """Section ids and h2 headings, and every src/href, of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, str]] = []
        self.h2: list[str] = []
        self._in_h2 = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.ids.add(a["id"])
        self._in_h2 = tag == "h2"
        for k in ("src", "href"):
            if a.get(k) is not None:
                self.urls.append((tag, k, a[k]))

    def handle_data(self, data):  # noqa: ANN001
        if self._in_h2:
            self.h2.append(data.strip())
            self._in_h2 = False


def test_the_page_holds_every_section_embedded_and_offline(run_dir) -> None:
    run, bars = run_dir
    path = build_report(run, data=bars)
    assert path == run / "report.html"
    html = path.read_text()
    page = Page(html)
    assert page.ids == SECTIONS
    assert len(page.h2) == len(SECTIONS)
    assert 'class="missing"' not in html, "every input is there: no section may say it is missing"
    imgs = [u for tag, k, u in page.urls if tag == "img"]
    assert len(imgs) == 4  # price by regime, regime map, equity, training curves
    assert all(u.startswith("data:image/png;base64,") and len(u) > 2000 for u in imgs)
    assert not [u for _, _, u in page.urls if u.startswith(("http://", "https://", "//"))]
    assert all(u.startswith(("data:", "#")) for _, _, u in page.urls)
    assert "http://" not in html and "https://" not in html
    state = json.loads((run / "backtest" / "state.json").read_text())
    assert "baseline: fixed" in html and state["proxy"] and state["proxy"] in html and "SPY (the S&amp;P 500 ETF)" in html
    trades = pd.read_parquet(run / "backtest" / "trades.parquet")
    assert _trade_rows(html) == min(len(trades), 200)
    assert "<dt>RDE backend (recorded by core/)</dt><dd>torch</dd>" in html  # conftest's core records torch


def _trade_rows(html: str) -> int:
    section = html[html.index('<section id="trades"'): html.index('<section id="readiness"')]
    return section.count("<tr", section.index("<tbody>"))


def test_the_trades_table_shows_the_last_200(run_dir, tmp_path) -> None:
    run, _ = run_dir
    other = tmp_path / "as-system"
    shutil.copytree(run / "baselines" / "fixed", other / "backtest")  # the rule's trades, as if the system's
    trades = pd.read_parquet(other / "backtest" / "trades.parquet")
    assert len(trades) > 0
    html = build_report(other).read_text()
    assert _trade_rows(html) == min(len(trades), 200) and str(trades["order_id"].iloc[-1]) in html


def test_the_baseline_is_the_fixed_rule_through_the_runtime(run_dir) -> None:
    run, _ = run_dir
    trades = pd.read_parquet(run / "baselines" / "fixed" / "trades.parquet")
    assert len(trades) > 0 and (trades["size"] == 1).all()
    r = (trades["target_ticks"] / trades["stop_ticks"])
    assert ((r - 2.0).abs() <= 1.0 / trades["stop_ticks"] + 1e-9).all()  # 2R target, rounded to whole ticks
    state = json.loads((run / "baselines" / "fixed" / "state.json").read_text())
    assert "SPY" in state["proxy"]


def test_missing_inputs_say_which_command_makes_them(run_dir, tmp_path) -> None:
    run, _ = run_dir
    part = tmp_path / "partial"
    shutil.copytree(run / "models", part / "models")
    html = build_report(part).read_text()
    page = Page(html)
    assert page.ids == SECTIONS
    for cmd in ("algospace infer rde", "algospace backtest", "algospace check"):
        assert cmd in html
    assert not [u for tag, _, u in page.urls if tag == "img" and not u.startswith("data:")]


def test_cli_writes_the_page_and_refuses_a_missing_run(run_dir, tmp_path, capsys) -> None:
    run, _ = run_dir
    out = tmp_path / "r.html"
    assert cli_run(app, ["report", "--run", str(run), "--out", str(out)]) == 0
    assert "report written" in capsys.readouterr().out
    assert Page(out.read_text()).ids == SECTIONS
    assert cli_run(app, ["report", "--run", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: InputError:") and "nowhere" in err
