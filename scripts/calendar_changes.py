"""What the exchange calendars change in bars built from the bundled samples.

Rebuilds bars on the old hand-written weekly calendars (`algospace.data.sessions`) and on the
exchange calendars (`algospace.data.calendars`) and lists every bar that differs, by trade date,
with the calendar's reason (holiday, early close). Its output is quoted in docs/data.md.

    .venv/bin/python scripts/calendar_changes.py
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from algospace.data import Instrument, get_instrument, make_bars, sample
from algospace.data.sessions import WEEKLY_CME_GLOBEX, WEEKLY_NYSE_RTH


def _weekly(name: str) -> Instrument:
    inst = get_instrument(name)
    cal = WEEKLY_CME_GLOBEX if inst.session == "cme-globex" else WEEKLY_NYSE_RTH
    return Instrument(inst.name, inst.point_value, inst.tick_size, cal)  # type: ignore[arg-type]


def compare(data: pd.DataFrame, name: str, minutes: int) -> None:
    """Print the bars that differ between the weekly and the exchange calendar."""
    inst = get_instrument(name)
    old = make_bars(data, minutes, _weekly(name))
    new = make_bars(data, minutes, inst)
    tz = inst.calendar.timezone
    only_old = old.index.difference(new.index)
    both = old.index.intersection(new.index)
    changed = both[(old.loc[both] != new.loc[both]).any(axis=1).to_numpy()]
    print(f"{name} {minutes}-minute bars: weekly {len(old):,}, exchange {len(new):,}; "
          f"{len(only_old)} dropped, {len(new.index.difference(old.index))} added, {len(changed)} changed")
    first, last = data.index[0], data.index[-1]
    early = {t.tz_convert(tz).date(): t.tz_convert(tz) for t in inst.calendar.early_closes(first, last)["market_close"]}
    days: dict[object, list[str]] = defaultdict(list)
    for t in only_old:
        days[t.tz_convert(tz).date()].append(f"-{t.tz_convert(tz):%H:%M}")
    for t in changed:
        days[t.tz_convert(tz).date()].append(f"~{t.tz_convert(tz):%H:%M}")
    for d, items in sorted(days.items()):
        why = f"early close {early[d]:%H:%M}" if d in early else "session edge"
        print(f"  {d} ({why}): {len(items)} bars: {' '.join(items[:8])}{' ...' if len(items) > 8 else ''}")


def main() -> None:
    spy, es = sample("spy-1m"), sample("es-ticks")
    for m in (1, 30, 60):
        compare(spy, "SPY", m)
    for m in (1, 5, 30):
        compare(es, "ES", m)


if __name__ == "__main__":
    main()
