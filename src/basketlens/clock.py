"""How the pipeline times its stages and tells a front end about them.

Example:
    >>> clock = Clock()
    >>> with clock.stage("clean", "applying cleaning rules"):
    ...     clock.detail = "10 of 12 lines kept"
    >>> list(clock.timings), list(clock.cpu)
    (['clean'], ['clean'])
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger("basketlens.pipeline")

__all__ = ["STAGE_CPU_LOG", "Clock", "ProgressReporter"]

#: The log line (INFO, ``basketlens -v``) of each finished stage: wall and CPU seconds; CPU
#: counts every thread of the process, so a stage using two cores shows more CPU than wall.
STAGE_CPU_LOG = "stage %s: %.2fs, %.2fs of CPU"


class ProgressReporter(Protocol):
    """What the pipeline tells a front end (the CLI shows it with Rich).

    A reporter may also define ``stage_progress(stage, done, total, unit)``: it is then told
    the counts of countable work while a stage runs (scopes mined, charts rendered).
    """

    def stage_started(self, stage: str, description: str) -> None: ...

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None: ...

    def stage_failed(self, stage: str) -> None: ...


class _Silent:
    def stage_started(self, stage: str, description: str) -> None:
        log.info("%s: %s", stage, description)

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        log.info("%s done%s", stage, f": {detail}" if detail else "")  # times: STAGE_CPU_LOG

    def stage_failed(self, stage: str) -> None:
        log.info("%s failed", stage)


class Clock:
    """Times the stages and tells the progress reporter when each starts and ends."""

    def __init__(self, progress: ProgressReporter | None = None) -> None:
        self.progress = progress or _Silent()
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds of this process (every thread)
        self.detail = ""
        self.current = ""

    def counter(self, unit: str) -> Callable[[int, int], None] | None:
        """A callback ``(done, total)`` that reports the running stage's counts of ``unit``,
        or None when the reporter does not show counts."""
        report = getattr(self.progress, "stage_progress", None)
        if report is None:
            return None
        stage = self.current
        return lambda done, total: report(stage, done, total, unit)

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[Clock]:
        self.detail = ""
        self.current = name
        self.progress.stage_started(name, description)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield self
        except BaseException:
            self.progress.stage_failed(name)  # e.g. stop a spinner before the error shows
            raise
        self.timings[name] = round(time.perf_counter() - start, 4)
        self.cpu[name] = round(time.process_time() - cpu, 4)
        log.info(STAGE_CPU_LOG, name, self.timings[name], self.cpu[name])
        self.progress.stage_finished(name, self.timings[name], self.detail)
