"""Package exports loaded on first use (the scientific-Python "lazy loader" pattern, SPEC 1).

A stage package exposes its light options module eagerly and its heavy entry points (Polars,
NumPy, scikit-learn) lazily, so that ``basketlens --help`` builds every command's flags from
the options declarations without importing the numerical stack. Modules themselves import
at the top; only a package's ``__init__`` uses this.

Example:
    >>> getattr_, dir_ = lazy_exports("basketlens.segment", {"CustomerSegmenter": ".estimator"})
    >>> getattr_("CustomerSegmenter").__name__
    'CustomerSegmenter'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a name to its module.

    Module names starting with "." are relative to ``package``. A resolved name is cached in
    the package namespace, so the lookup runs once.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = package + module if module.startswith(".") else module
        value = getattr(importlib.import_module(target), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
