"""Atomic directory writes: an artifact is replaced whole, in one step, or not at all.

A save builds the whole artifact in a temporary sibling directory, fsyncs every file and
directory, then puts it in place with one rename. Replacing an existing artifact uses Linux
`renameat2(RENAME_EXCHANGE)`, which swaps the two directories in one atomic step, so at every
instant the path holds either the old or the new complete artifact. A writer killed at any
point leaves at most a hidden temporary sibling (`.NAME.tmp-PID-*`), which readers never look
at and the next save removes.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from algospace.errors import ArtifactError
from algospace.io import fsync_dir, fsync_file

log = logging.getLogger(__name__)

_TMP_TAG = ".tmp-"
_OLD_TAG = ".old-"


def fsync_tree(root: Path) -> None:
    """fsync every file, then every directory bottom-up, under `root`."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            fsync_file(Path(dirpath) / name)
        fsync_dir(Path(dirpath))


def is_temp_name(name: str) -> bool:
    """True for the hidden siblings an in-progress or killed save leaves behind."""
    return name.startswith(".") and (_TMP_TAG in name or _OLD_TAG in name)


def write_dir_atomically(target: Path, fill: Callable[[Path], None], *, marker: str) -> None:
    """Create or replace directory `target` with what `fill(tmpdir)` writes, atomically.

    `marker` is a file name every directory of this type holds (e.g. manifest.json): an
    existing non-empty directory without it is not ours to replace, and is refused.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"{target} exists and is a file, not an artifact directory; choose another path.")
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise ArtifactError(
            f"{target} is a non-empty directory with no {marker}: it is not an artifact, and saving would "
            "destroy its contents; choose another path or empty it first."
        )
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}{os.getpid()}-", dir=parent))
    try:
        fill(tmp)
        fsync_tree(tmp)
        if target.exists():
            _replace_dir(tmp, target)
        else:
            os.rename(tmp, target)
        fsync_dir(parent)
    finally:
        # After an exchange `tmp` holds the previous artifact; after a failure, a partial one.
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete temporary siblings of `target` left by writers that no longer run."""
    removed: list[Path] = []
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        return removed
    prefix = f".{target.name}"
    for entry in parent.iterdir():
        rest = entry.name[len(prefix):] if entry.name.startswith(prefix) else ""
        for tag in (_TMP_TAG, _OLD_TAG):
            if rest.startswith(tag):
                pid_text = rest[len(tag):].split("-", 1)[0]
                if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
                    log.info("removed %s left by an interrupted save (pid %s)", entry, pid_text)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Python's os module has no renameat2; glibc (>= 2.28) exports it, so it is called through
# ctypes. RENAME_EXCHANGE = 2 in <linux/fs.h>; AT_FDCWD = -100 in <fcntl.h>.
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False when the OS or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"renameat2({a}, {b}, RENAME_EXCHANGE) failed: {os.strerror(err)}")


def _replace_dir(new: Path, target: Path) -> None:
    """Put directory `new` at `target`; afterwards `new` holds the previous contents."""
    if _renameat2_exchange(new, target):
        return
    # Fallback (non-Linux or a file system without RENAME_EXCHANGE): two renames. Between them
    # the path is briefly absent; the previous artifact is then in the `.old-` sibling, which a
    # failed load names in its error message.
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}{_OLD_TAG}{os.getpid()}-", dir=target.parent))
    os.rmdir(backup)
    os.rename(target, backup)
    os.rename(new, target)
    os.rename(backup, new)
