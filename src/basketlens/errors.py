"""The basketlens exception hierarchy.

Every error a user can cause derives from :class:`BasketlensError`; the CLI turns
these into one clear message and a non-zero exit code (tracebacks only with ``--debug``).

Example:
    >>> from basketlens.errors import ParameterError
    >>> raise ParameterError("min_support must be in (0, 1]; got 1.5")
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: min_support must be in (0, 1]; got 1.5
"""

from __future__ import annotations


class BasketlensError(Exception):
    """Base class of every error basketlens raises on purpose."""


class ParameterError(BasketlensError, ValueError):
    """A parameter is out of range, of the wrong type or inconsistent with another."""


class InputError(BasketlensError):
    """Input data cannot be used: unreadable file, missing column, bad value."""


class SchemaError(InputError):
    """A required column is missing or cannot be mapped to a canonical field."""


class EmptyInputError(InputError):
    """A file or a stage's input has no usable rows."""


class NotFittedError(BasketlensError, AttributeError):
    """An estimator or model was used before ``fit`` was called."""


class MiningBudgetError(BasketlensError):
    """Mining would exceed the itemset budget; the message suggests a higher support."""


class ModelError(BasketlensError):
    """A saved output folder or model is missing, incomplete or incompatible."""


class ReportError(BasketlensError):
    """A report file (a chart, the page, the workbook) could not be rendered; the message
    names it and the renderer's reason."""


class SinkError(BasketlensError):
    """Results could not be published to an object store or a database; the sink keeps its
    previous content (nothing is half-written)."""


class MissingExtraError(BasketlensError, ImportError):
    """An optional feature needs a package that is not installed; the message names the extra
    to install (``pip install 'basketlens[sql]'``)."""
