"""Run configuration: one dataclass tree, loadable from ``basketlens.toml``, overridable by flags.

The TOML file has one table per stage; every key is optional and flags given on the command
line override it. Unknown tables or keys are errors that name the file and suggest the
closest valid key.

Example:
    >>> cfg = RunConfig.from_mapping({"input": {"sales": "sales.csv"}, "segment": {"k": 4}})
    >>> cfg.segment.k, cfg.input.sales
    (4, 'sales.csv')

A complete ``basketlens.toml``::

    [input]
    sales = "sales.csv"
    items = "items.csv"
    customers = "customers.csv"

    [columns]                # canonical field = your column name
    invoice = "SalesDocumentNumber"
    date = "Date_CD"

    [clean]
    exclude_brands = ["Samples"]
    basket_by = "invoice"    # or "customer_day"

    [segment]
    k_max = 8

    [mine]
    min_confidence = 0.4

    [output]
    out = "out"
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from basketlens._validation import check_interval, check_option
from basketlens.errors import InputError, ParameterError
from basketlens.schema import CANONICAL_FIELDS


@dataclass(frozen=True)
class InputConfig:
    """Where the ledger comes from."""

    sales: str | None = None
    items: str | None = None
    customers: str | None = None
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class CleanConfig:
    """Cleaning rules (see :class:`basketlens.clean.CleaningOptions`)."""

    drop_returns: bool = True
    drop_missing_ids: bool = True
    drop_nonpositive: bool = True
    drop_duplicates: bool = True
    exclude_brands: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    drop_single_item_baskets: bool = False
    basket_by: str = "invoice"
    segment_level: str = "customer"


@dataclass(frozen=True)
class FeatureConfig:
    """Customer feature options (see :class:`basketlens.features.FeatureOptions`)."""

    top_brands: int = 5
    top_categories: int = 5


@dataclass(frozen=True)
class SegmentConfig:
    """Segmentation parameters (see :class:`basketlens.segment.CustomerSegmenter`)."""

    features: tuple[str, ...] | None = None
    k: int | None = None
    k_min: int = 2
    k_max: int = 10
    cap_quantile: float | None = 0.99
    log_transform: bool = True
    n_init: int = 10
    random_state: int = 0
    silhouette_sample: int = 10_000
    order_by: str = "revenue"


@dataclass(frozen=True)
class MineConfig:
    """Rule-mining parameters; with no support given, threshold help aims at ``target_rules``."""

    enabled: bool = True
    min_support: float | None = None
    min_count: int | None = None
    min_confidence: float = 0.5
    min_lift: float | None = None
    max_len: int = 4
    target_rules: int = 200
    measures: tuple[str, ...] | None = None
    per_segment: bool = True
    itemsets: bool = False


@dataclass(frozen=True)
class RecommendConfig:
    """How many never-bought items to recommend to each customer."""

    top_n: int = 5


@dataclass(frozen=True)
class OutputConfig:
    """Where and what to write."""

    out: str = "basketlens-out"
    report: bool = True
    csv: bool = False


@dataclass(frozen=True)
class RunConfig:
    """Everything one ``basketlens run`` needs."""

    input: InputConfig = field(default_factory=InputConfig)
    columns: Mapping[str, str] = field(default_factory=dict)
    clean: CleanConfig = field(default_factory=CleanConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    mine: MineConfig = field(default_factory=MineConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "config") -> RunConfig:
        """Build a config from nested mappings (a parsed TOML document)."""
        sections = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name not in sections:
                raise ParameterError(_unknown(source, "table", name, sections))
            if not isinstance(value, Mapping):
                raise ParameterError(f"{source}: [{name}] must be a table; got {value!r}")
            if name == "columns":
                kwargs[name] = _columns(value, source)
            else:
                default = sections[name].default_factory()  # type: ignore[misc]
                kwargs[name] = _section(default, value, f"{source} [{name}]")
        return cls(**kwargs).validated()

    @classmethod
    def from_toml(cls, path: str | Path) -> RunConfig:
        """Read a ``basketlens.toml`` file; relative input paths resolve against its folder."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc})") from None
        cfg = cls.from_mapping(data, source=str(path))
        base = path.parent
        resolved = {
            key: str(base / value) if value and not Path(value).is_absolute() else value
            for key in ("sales", "items", "customers")
            if (value := getattr(cfg.input, key))
        }
        return replace(cfg, input=replace(cfg.input, **resolved))

    def override(self, **sections: Mapping[str, Any]) -> RunConfig:
        """Return a copy with non-None values of ``sections`` replacing the current ones.

        Example:
            >>> RunConfig().override(segment={"k": 3, "k_max": None}).segment.k
            3
        """
        updates: dict[str, Any] = {}
        for name, values in sections.items():
            if name == "columns":
                updates[name] = {**self.columns, **_columns(values, "--map")}
                continue
            current = getattr(self, name)
            given = {k: v for k, v in values.items() if v is not None}
            updates[name] = _section(current, given, f"--{name}")
        return replace(self, **updates).validated()

    def validated(self) -> RunConfig:
        """Check value ranges and options; return self."""
        check_option("clean.basket_by", self.clean.basket_by, ("invoice", "customer_day"))
        check_option("clean.segment_level", self.clean.segment_level, ("customer", "group"))
        seg = self.segment
        if seg.k is not None:
            check_interval("k", seg.k, low=1, integer=True)
        check_interval("k_min", seg.k_min, low=2, integer=True)
        check_interval("k_max", seg.k_max, low=seg.k_min, integer=True)
        if seg.cap_quantile is not None:
            check_interval("cap_quantile", seg.cap_quantile, low=0.5, high=1.0, closed="right")
        check_option("order_by", seg.order_by, ("revenue", "size"))
        mine = self.mine
        if mine.min_support is not None:
            check_interval("min_support", mine.min_support, low=0.0, high=1.0, closed="right")
        if mine.min_count is not None:
            check_interval("min_count", mine.min_count, low=1, integer=True)
        check_interval("min_confidence", mine.min_confidence, low=0.0, high=1.0)
        check_interval("max_len", mine.max_len, low=1, integer=True)
        check_interval("target_rules", mine.target_rules, low=1, integer=True)
        check_interval("top_n", self.recommend.top_n, low=1, integer=True)
        check_interval("top_brands", self.features.top_brands, low=0, integer=True)
        check_interval("top_categories", self.features.top_categories, low=0, integer=True)
        return self


def _unknown(source: str, what: str, name: str, valid: Mapping[str, Any] | list[str]) -> str:
    options = list(valid)
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{source}: unknown {what} {name!r}; valid: {', '.join(options)}{hint}"


def _columns(values: Mapping[str, Any], source: str) -> dict[str, str]:
    """Validate a canonical-field → column map; qualified keys like ``items.item`` are allowed."""
    out: dict[str, str] = {}
    for key, column in values.items():
        canonical = key.split(".", 1)[1] if key.startswith(("items.", "customers.")) else key
        if canonical not in CANONICAL_FIELDS:
            raise ParameterError(_unknown(source, "canonical field", canonical, CANONICAL_FIELDS))
        if not isinstance(column, str) or not column:
            raise ParameterError(f"{source}: column for {key!r} must be a non-empty string")
        out[key] = column
    return out


def _section(current: Any, values: Mapping[str, Any], source: str) -> Any:
    """Replace fields of a frozen dataclass from a mapping, coercing lists to tuples."""
    names = {f.name for f in fields(current)}
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            raise ParameterError(_unknown(source, "key", key, sorted(names)))
        updates[key] = tuple(value) if isinstance(value, list) else value
    return replace(current, **updates)
