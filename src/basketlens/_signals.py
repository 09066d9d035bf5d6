"""SIGTERM as a normal exit, so that ``finally`` blocks and ``atexit`` handlers clean up.

Python's default reaction to SIGTERM is to die on the spot: temporary folders (a run's staging
folder, the UTF-8 copy of a transcoded ledger) and lock files stay behind. Inside
:func:`terminate_as_exit`, SIGTERM raises ``SystemExit(143)`` in the main thread instead; the
compiled mining kernel checks for signals periodically, so a long search stops too.

Example:
    >>> with terminate_as_exit():
    ...     pass   # a SIGTERM here unwinds like sys.exit(143)
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

__all__ = ["TERMINATED_EXIT_CODE", "terminate_as_exit"]

#: Exit status of a process ended by SIGTERM (128 + 15), as shells report it.
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    log.warning("terminated (signal %d): cleaning up", signum)
    raise SystemExit(TERMINATED_EXIT_CODE)


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` (main thread only; elsewhere, and
    when a handler other than the default one is installed, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None) and previous is not _raise_exit:
        yield  # someone (a server, a test runner) handles SIGTERM already: leave it to them
        return
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
