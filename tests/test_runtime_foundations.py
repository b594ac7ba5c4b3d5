"""Runtime foundations: the event bus's ordering and the bar sources (replay, follow a growing CSV)."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from algospace.data import sample
from algospace.data.aggregate import Bar
from algospace.errors import DataError, InputError
from algospace.runtime import BarSource, EventBus, FollowCSV, ReplaySource


@dataclass(frozen=True)
class Ping:
    n: int


@dataclass(frozen=True)
class Pong:
    n: int


def test_bus_delivers_by_exact_type_in_publication_order() -> None:
    bus = EventBus(record=True)
    seen: list[str] = []

    def on_ping(e: Ping) -> None:
        seen.append(f"ping{e.n}")
        if e.n == 1:
            bus.publish(Pong(1))  # published mid-delivery: queued, not delivered re-entrantly
            bus.publish(Ping(2))

    bus.subscribe(Ping, on_ping)
    bus.subscribe(Ping, lambda e: seen.append(f"second-handler{e.n}"))
    bus.subscribe(Pong, lambda e: seen.append(f"pong{e.n}"))
    bus.publish(Ping(1))
    assert seen == ["ping1", "second-handler1", "pong1", "ping2", "second-handler2"]
    assert bus.recorded == [Ping(1), Pong(1), Ping(2)]


def test_bus_refuses_bad_subscriptions_and_recovers_after_a_failing_handler() -> None:
    bus = EventBus()
    with pytest.raises(InputError):
        bus.subscribe("Ping", print)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        bus.subscribe(Ping, 3)  # type: ignore[arg-type]

    def boom(e: Ping) -> None:
        bus.publish(Pong(e.n))
        raise RuntimeError("handler failed")

    got: list[Pong] = []
    bus.subscribe(Ping, boom)
    bus.subscribe(Pong, got.append)
    with pytest.raises(RuntimeError):
        bus.publish(Ping(1))
    assert got == []  # the failure stopped delivery; nothing half-delivered later
    bus.publish(Pong(7))
    assert got == [Pong(7)]


def test_replay_yields_every_bar_in_order_and_resumes_after_a_time() -> None:
    bars = sample("spy-1m").iloc[-500:]
    src = ReplaySource(bars)
    assert isinstance(src, BarSource)
    items = list(src)
    assert len(items) == 500 and all(isinstance(b, Bar) for b in items)
    assert items[0].timestamp == bars.index[0].value and items[-1].close == bars["close"].iloc[-1]
    cut = bars.index[199]
    resumed = list(ReplaySource(bars, start_after=cut))
    assert resumed == items[200:]
    with pytest.raises(InputError, match="no timezone"):
        ReplaySource(bars, start_after="2019-12-31 10:00")


def test_replay_of_ticks_yields_ticks() -> None:
    items = list(ReplaySource(sample("es-ticks").iloc[:50]))
    assert len(items) == 50 and hasattr(items[0], "price")


def _write_rows(path: Path, bars: pd.DataFrame, header: bool) -> None:
    frame = bars.reset_index()
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(path, mode="a", header=header, index=False)


def test_follow_sees_appended_bars_once_and_waits_for_half_written_lines(tmp_path: Path) -> None:
    bars = sample("spy-1m").iloc[:30]
    path = tmp_path / "live.csv"
    _write_rows(path, bars.iloc[:10], header=True)
    follow = FollowCSV(path, poll_s=0.01)
    first = follow.poll()
    assert [b.timestamp for b in first] == list(bars.index[:10].asi8)
    assert follow.poll() == []  # nothing new
    line = tmp_path / "one.csv"
    _write_rows(line, bars.iloc[10:11], header=False)
    text = line.read_text()
    with open(path, "a") as fh:  # a writer in the middle of a line
        fh.write(text[:15])
    assert follow.poll() == []
    with open(path, "a") as fh:
        fh.write(text[15:])
    assert [b.timestamp for b in follow.poll()] == [bars.index[10].value]
    path.unlink()  # the file is rewritten with older data: refused, never silently re-played
    _write_rows(path, bars.iloc[:3], header=True)
    with pytest.raises(DataError, match="before the last bar already processed"):
        follow.poll()


def test_follow_a_file_written_by_another_process(tmp_path: Path) -> None:
    bars = sample("spy-1m").iloc[:40]
    path = tmp_path / "live.csv"
    _write_rows(path, bars.iloc[:5], header=True)
    rest = tmp_path / "rest.csv"
    _write_rows(rest, bars.iloc[5:], header=False)
    writer = (
        "import sys, time\n"
        "lines = open(sys.argv[1]).read().splitlines(keepends=True)\n"
        "for ln in lines:\n"
        "    with open(sys.argv[2], 'a') as fh: fh.write(ln)\n"
        "    time.sleep(0.01)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer, str(rest), str(path)])
    got = list(FollowCSV(path, poll_s=0.02, idle_timeout_s=1.5))
    proc.wait(timeout=30)
    assert [b.timestamp for b in got] == list(bars.index.asi8)


def test_follow_resumes_after_start_after_and_stops_on_request(tmp_path: Path) -> None:
    bars = sample("spy-1m").iloc[:20]
    path = tmp_path / "live.csv"
    _write_rows(path, bars, header=True)
    got = list(FollowCSV(path, start_after=bars.index[14], poll_s=0.01, idle_timeout_s=0.1))
    assert [b.timestamp for b in got] == list(bars.index[15:].asi8)
    stop = threading.Event()
    stop.set()
    assert list(FollowCSV(path, stop=stop)) == []
    with pytest.raises(InputError):
        FollowCSV(path, poll_s=0)
