"""File-system primitives of the atomic run folder: the lock, the staging folder names and the
swap of two folders in one step.

* :class:`FolderLock` — ``.<OUT>.basketlens.lock`` beside the output folder, held with
  ``flock`` for the whole run (the kernel drops it when the process dies, even by SIGKILL);
  a second run into the same folder fails at once, naming the holder.
* :func:`exchange` — swap two folders atomically (Linux ``renameat2(RENAME_EXCHANGE)``), so
  readers see the complete old run or the complete new one, never neither.
* :func:`staging_name` / :func:`leftovers` — the hidden folders a run writes into, and the
  ones an interrupted run left behind (removed by the next run into the same folder).

Example:
    >>> staging_name(Path("out"), "20260101T000000Z-abc")
    '.out.basketlens-20260101T000000Z-abc.tmp'
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from basketlens.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: msvcrt's byte-range lock instead
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "FolderLock",
    "OutputLockedError",
    "exchange",
    "leftovers",
    "remove_tree",
    "staging_name",
]

_STAGING = ".basketlens-"
_STAGING_SUFFIX = ".tmp"
_OLD_SUFFIX = ".old"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputLockedError(InputError):
    """Another basketlens process is writing the same output folder."""


def staging_name(out: Path, run_id: str, *, old: bool = False) -> str:
    """The hidden name of the folder a run writes into (``old``: the previous run, set aside)."""
    return f".{out.name}{_STAGING}{run_id}{_OLD_SUFFIX if old else _STAGING_SUFFIX}"


def leftovers(parent: Path, out_name: str) -> list[Path]:
    """Staging and set-aside folders of earlier, interrupted runs into ``parent/out_name``."""
    prefix = f".{out_name}{_STAGING}"
    try:
        entries = list(parent.iterdir())
    except OSError:
        return []
    return sorted(
        p
        for p in entries
        if p.name.startswith(prefix) and p.name.endswith((_STAGING_SUFFIX, _OLD_SUFFIX))
    )


def is_set_aside(path: Path) -> bool:
    """True for a previous run set aside by a non-atomic swap (see :func:`exchange`)."""
    return path.name.endswith(_OLD_SUFFIX)


def remove_tree(path: Path) -> None:
    """Remove a file or folder; log (never raise) when it cannot be removed."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def _renameat2(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` with renameat2; False when the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def exchange(new: Path, out: Path, aside: Path) -> None:
    """Put the folder ``new`` in place of the existing folder ``out``; the old one ends in
    ``new``'s place (atomic swap) or at ``aside`` (two renames where no swap is possible)."""
    if _renameat2(new, out):
        return
    os.rename(out, aside)  # a crash between the renames leaves the old run at `aside`,
    os.rename(new, out)  # which the next run into `out` puts back (see RunFolder)


class FolderLock:
    """An exclusive lock on ``.<name>.basketlens.lock`` in ``where`` (beside the folder).

    :meth:`acquire` raises :class:`OutputLockedError` at once when another process (or another
    run in this process) holds it; the message names the holder.

    Example:
        >>> lock = FolderLock(Path("out"), where=Path("."))    # doctest: +SKIP
        >>> lock.acquire(); lock.release()                      # doctest: +SKIP
    """

    def __init__(self, out: Path, *, where: Path) -> None:
        self.out = out
        self.path = where / f".{out.name}.basketlens.lock"
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        for _ in range(20):  # the holder may unlink the file between our open and lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not self._try_lock(fd):
                holder = self._holder(fd)
                os.close(fd)
                raise OutputLockedError(
                    f"output folder {self.out} is being written by another basketlens run "
                    f"({holder}); wait for it to finish or choose another --out"
                )
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                self._describe(fd)
                return self
            os.close(fd)
        raise OutputLockedError(f"cannot lock {self.path}: it keeps changing; try again")

    @staticmethod
    def _try_lock(fd: int) -> bool:
        if fcntl is None:  # pragma: no cover - Windows
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                return False
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            info: dict[str, Any] = json.loads(os.read(fd, 4096) or b"{}")
        except (OSError, ValueError):
            info = {}
        if not info:
            return "a process that just started"
        return (
            f"pid {info.get('pid')} on {info.get('host')}, started "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info.get('started', 0)))}"
        )

    @staticmethod
    def _describe(fd: int) -> None:
        text = json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        )
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, text.encode())

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it: no one else owns it
        except OSError as exc:
            log.warning("could not remove lock file %s: %s", self.path, exc)
        os.close(self._fd)
        self._fd = None
