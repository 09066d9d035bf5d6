"""Frame-level text safety: every CSV basketlens writes goes through :func:`write_csv`.

Text cells that a spreadsheet would read as a formula get a leading apostrophe (the rule of
:func:`basketlens.textsafe.neutralise`, applied as a Polars expression); numbers, dates and
booleans are written as they are.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"name": ["=1+1", "Tea"], "value": [-2.0, 3.0]})
    >>> safe_frame(frame).rows()
    [("'=1+1", -2.0), ('Tea', 3.0)]
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from basketlens.textsafe import FORMULA_PREFIXES

__all__ = ["FORMULA_PATTERN", "neutralise_expr", "safe_frame", "write_csv"]

#: Regular expression matching the text a spreadsheet reads as a formula.
FORMULA_PATTERN = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_PREFIXES) + "]"


def neutralise_expr(text: pl.Expr) -> pl.Expr:
    """``text`` (a String expression) with formula-looking values prefixed by an apostrophe.

    Example:
        >>> pl.select(neutralise_expr(pl.lit("+cmd|' /C calc'!A0"))).item()
        "'+cmd|' /C calc'!A0"
    """
    return pl.when(text.str.contains(FORMULA_PATTERN)).then("'" + text).otherwise(text)


def safe_frame(frame: pl.DataFrame, *, list_separator: str = "; ") -> pl.DataFrame:
    """``frame`` with every text cell neutralised and list columns joined into text.

    String, categorical and enum columns are neutralised; list columns are joined with
    ``list_separator`` first (CSV has no lists); other columns are left as they are.
    """
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            text = col.cast(pl.List(pl.String)).list.join(list_separator)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            text = col.cast(pl.String)
        else:
            exprs.append(col)
            continue
        exprs.append(neutralise_expr(text).alias(name))
    return frame.select(exprs)


def write_csv(frame: pl.DataFrame, path: str | Path, *, list_separator: str = "; ") -> Path:
    """Write ``frame`` to ``path`` as UTF-8 CSV with every text cell neutralised.

    Example:
        >>> write_csv(pl.DataFrame({"a": ["@SUM(1)"]}), "x.csv")   # doctest: +SKIP
        PosixPath('x.csv')
    """
    path = Path(path)
    safe_frame(frame, list_separator=list_separator).write_csv(path)
    return path
