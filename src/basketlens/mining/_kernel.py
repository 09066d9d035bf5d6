"""The compiled mining kernel ``basketlens.mining._core``, or None on a broken build.

Every module that calls the kernel imports it from here, so the fallback is decided once:
without the extension, mining uses the pure-Python reference (:mod:`._reference`) and
reading FIMI files is refused with a clear error.

Example:
    >>> core is None or core.STRATEGIES[0] == "auto"
    True
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["core"]

core: ModuleType | None
try:
    from basketlens.mining import _core as core
except ImportError:  # pragma: no cover - exercised only on a broken build
    core = None
