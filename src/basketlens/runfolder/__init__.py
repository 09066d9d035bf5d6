"""The run folder: its layout, writing and reading it, and the saved recommender model."""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.runfolder.options import OutputOptions

__all__ = ["Analysis", "OutputOptions", "load_model", "read_run", "save_model", "write_run"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Analysis": ".analysis",
        "read_run": ".read",
        "write_run": ".write",
        "load_model": ".model_io",
        "save_model": ".model_io",
    },
)
