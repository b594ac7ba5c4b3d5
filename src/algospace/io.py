"""Atomic file writes for the whole package: a reader sees the old file or the new one, never half.

Every writer follows the same steps: write a temp sibling in the target's directory (same
filesystem, so the rename is atomic), fsync the file, `os.replace` it onto the target, then
fsync the directory so the rename itself survives a crash. The temp file is created with
mode 0o666 minus the process umask, exactly like a plain `open(path, "w")` (0o644 under the
usual umask 022); `tempfile.mkstemp` would leave 0o600, which other users and services
cannot read. On any failure the temp file is removed and the previous target is untouched.

Example::

    from algospace.io import atomic_write_text
    atomic_write_text("runs/config.json", json.dumps(cfg, indent=1) + "\\n")
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from algospace.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

_TMP_MARK = ".tmp"


def _temp_sibling(path: Path) -> Path:
    """Create (O_EXCL) an empty, uniquely named temp file beside `path`; return its path.

    The name keeps the target's suffix (`.x.<token>.tmp.png`) because some writers, e.g.
    matplotlib's savefig, pick the format from the file name. Created with mode 0o666 so the
    kernel applies the umask the way a normal open does.
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}{_TMP_MARK}{path.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a unique temp file beside {path}")  # 100 random clashes: not expected


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (creations, renames) durable."""
    # Makes the rename durable. Not every platform can open a directory (Windows): skip there.
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        log.debug("fsync of directory %s not supported", directory)
    finally:
        os.close(fd)


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Let `writer(tmp_path)` write the content to a temp sibling, then move it onto `path`.

    For libraries that write to a file name themselves (matplotlib `savefig`, pyarrow
    `write_table`). The writer must write to the path it is given; parent directories of
    `path` are created. Returns `path` as a Path.

    Example: ``atomic_write_with("plot.png", lambda p: fig.savefig(p))``
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(target)
    try:
        writer(tmp)
        fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module docstring)."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write_with(path, write)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; no newline translation (what you pass is what lands)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_parquet(path: str | os.PathLike[str], frame: pd.DataFrame | pa.Table, **kwargs: Any) -> Path:
    """Write a DataFrame (`frame.to_parquet`, keeping its index and attrs) or a pyarrow Table
    (`pyarrow.parquet.write_table`, keeping its schema metadata) to `path` atomically.

    `kwargs` go to the underlying writer (e.g. `compression="zstd"`).
    """
    import pandas as pd
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        import pyarrow.parquet as pq

        return atomic_write_with(path, lambda tmp: pq.write_table(frame, tmp, **kwargs))
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"atomic_write_parquet expects a pandas DataFrame or a pyarrow Table; found {type(frame).__name__}.")
    return atomic_write_with(path, lambda tmp: frame.to_parquet(tmp, **kwargs))


__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_parquet", "atomic_write_with"]
