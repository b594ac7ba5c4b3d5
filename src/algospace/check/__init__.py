"""`algospace check`: is a models directory (rde/, mrms/, core/) ready to trade? Measured, not claimed.

`run_check(dir)` returns a CheckReport (rows of pass / fail / not tested / skipped, each with
what was found and what to do); `render` shows it as a rich table or one HTML page. See
docs/check.md.
"""

from algospace.check.result import CheckReport, Row, Status
from algospace.check.run import run_check

__all__ = ["CheckReport", "Row", "Status", "run_check"]
