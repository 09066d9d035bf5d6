"""Save and load the recommender model (``OUT/model/``) that ``basketlens recommend`` answers from.

Files (names in :mod:`basketlens.runfolder.layout`):

* ``model.json`` – format marker and version, window end, counts, the file list.
* ``rules.parquet`` – rule_id, scope, antecedent, consequent, their names, support,
  confidence, lift.
* ``customers.parquet`` – customer_id, customer_name, segment, segment_name, total_orders.
* ``customer_items.parquet`` – the customer × item purchases in long form
  (:data:`~basketlens.opportunities.matrix.CUSTOMER_ITEMS_SCHEMA`).
* ``item_values.parquet`` – typical monthly value per scope and item; ``items.parquet`` –
  item, item_name.
* ``recommendations.parquet`` – the recommender's ranked lists: ``depth`` never-bought items
  per customer with probability, expected value (currency, period), evidence and reason,
  sorted by customer in small row groups so that one customer's rows are read alone;
  ``model.json`` describes the recommender (horizon, currency, λ, ranker weights).
* ``segmenter.pkl`` – the fitted :class:`~basketlens.segment.CustomerSegmenter` (caps, scaler,
  centroids) to place new customers, written with :mod:`pickle`. **Unpickling runs code from
  the file: load model folders only from sources you trust.** It is read lazily, only by
  :meth:`RecommenderModel.place`.

Example:
    >>> model = load_model("out")                         # doctest: +SKIP
    >>> model.recommend_customer("17850", top=5)          # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from basketlens import __version__
from basketlens.errors import ModelError
from basketlens.opportunities.matrix import CUSTOMER_ITEMS_SCHEMA, CustomerItems
from basketlens.opportunities.model import RecommenderModel
from basketlens.opportunities.value import ITEM_VALUES_SCHEMA, ItemValues
from basketlens.runfolder.layout import (
    MODEL_DIR,
    MODEL_FILES,
    MODEL_JSON,
    RANKED_FILE,
    SEGMENTER_FILE,
)
from basketlens.runfolder.runid import check_model_files, file_digest, write_table

logger = logging.getLogger(__name__)

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "basketlens-model"
FORMAT_VERSION = 2
#: Rows per Parquet row group of the ranked lists (a customer's rows are read alone).
RANKED_ROW_GROUP = 20_000


def save_model(out_dir: str | Path, model: RecommenderModel, *, run_id: str | None = None) -> Path:
    """Write ``model`` to ``out_dir/model/`` (created); return that folder.

    ``run_id`` (the run folder's, see :mod:`basketlens.runfolder.runid`) goes into every file.

    Example:
        >>> save_model("out", model)   # doctest: +SKIP
        PosixPath('out/model')
    """
    folder = Path(out_dir) / MODEL_DIR
    if folder.exists() and not folder.is_dir():
        raise ModelError(f"{folder} exists and is not a folder; choose another output folder")
    folder.mkdir(parents=True, exist_ok=True)
    m = model.matrix
    write_table(model.rules, folder / MODEL_FILES["rules"], run_id)
    customers = model.customers.with_columns(total_orders=pl.Series(m.total_orders, dtype=pl.Int32))
    write_table(customers, folder / MODEL_FILES["customers"], run_id)
    write_table(m.to_table(), folder / MODEL_FILES["customer_items"], run_id)
    write_table(model.values.table, folder / MODEL_FILES["item_values"], run_id)
    items = pl.DataFrame(
        {"item": list(model.item_names), "item_name": list(model.item_names.values())},
        schema={"item": pl.String, "item_name": pl.String},
    )
    write_table(items, folder / MODEL_FILES["items"], run_id)
    ranked_path = folder / RANKED_FILE
    ranked = model.ranked
    if ranked is not None:
        write_table(
            ranked.sort("customer_id", "rank"),
            ranked_path,
            run_id,
            row_group_size=RANKED_ROW_GROUP,
            statistics=True,
        )
    else:
        ranked_path.unlink(missing_ok=True)
    segmenter = model.fitted_segmenter
    segmenter_path = folder / SEGMENTER_FILE
    if segmenter is not None:
        with segmenter_path.open("wb") as fh:
            pickle.dump(segmenter, fh, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        segmenter_path.unlink(missing_ok=True)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "basketlens_version": __version__,
        "run_id": run_id,
        "segmenter_sha256": file_digest(segmenter_path) if segmenter is not None else None,
        "window_end": m.window_end.isoformat(),
        "customers": m.n_customers,
        "items": m.n_items,
        "rules": model.rules.height,
        "recommender": model.recommender if ranked is not None else None,
        "files": {
            **MODEL_FILES,
            **({"recommendations": RANKED_FILE} if ranked is not None else {}),
            **({"segmenter": SEGMENTER_FILE} if segmenter is not None else {}),
        },
    }
    (folder / MODEL_JSON).write_text(json.dumps(_plain(meta), indent=2), encoding="utf-8")
    logger.info("saved recommender model to %s", folder)
    return folder


def load_model(path: str | Path) -> RecommenderModel:
    """Open a model in an output folder (``OUT``) or its ``OUT/model`` folder.

    Only ``model.json`` is read now; every other file is read on first use, so answering one
    customer reads that customer's ranked rows and nothing else. Raises ModelError naming the
    folder when it is missing, incomplete or of another format (a file that turns out
    unreadable later raises ModelError naming it).
    """
    path = Path(path)
    folder = path / MODEL_DIR if (path / MODEL_DIR / MODEL_JSON).exists() else path
    meta_path = folder / MODEL_JSON
    if not meta_path.exists():
        raise ModelError(
            f"no basketlens model in {path}: expected {path / MODEL_DIR / MODEL_JSON}; "
            "run `basketlens run ... --out OUT` first and pass OUT"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{meta_path}: unreadable model description ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelError(f"{meta_path}: not a basketlens model (format {found!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{meta_path}: model format version {meta.get('format_version')!r}; this basketlens "
            f"reads version {FORMAT_VERSION} — re-run basketlens run to rebuild it"
        )
    for name in MODEL_FILES.values():
        if not (folder / name).is_file():
            raise ModelError(f"model file {folder / name} is missing or unreadable")
    check_model_files(folder, meta)  # every file of one run, else ModelError
    ranked_path = folder / RANKED_FILE
    has_ranked = "recommendations" in meta.get("files", {})
    if has_ranked and not ranked_path.is_file():
        raise ModelError(f"model file {ranked_path} is missing or unreadable")
    window_end = meta.get("window_end")
    opened: dict[str, RecommenderModel] = {}  # the values are coded on the model's matrix
    loaders: dict[str, Any] = {
        "rules": lambda: _read(folder / MODEL_FILES["rules"]),
        "customers": lambda: _customers(folder),
        "matrix": lambda: _matrix(folder, window_end),
        "item_names": lambda: _item_names(folder),
        "values": lambda: _values(folder, opened["model"].matrix.items),
    }
    if has_ranked:
        loaders["ranked"] = lambda: _read(ranked_path)
        loaders["ranked_customer"] = lambda customer_id: _read(
            ranked_path, pl.col("customer_id") == customer_id
        )
    opened["model"] = RecommenderModel(
        recommender=meta.get("recommender"),
        segmenter_loader=_segmenter_loader(folder / SEGMENTER_FILE),
        loaders=loaders,
    )
    return opened["model"]


def _plain(value: Any) -> Any:
    """Tuples, numpy scalars and non-finite floats as JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _read(file: Path, predicate: pl.Expr | None = None) -> pl.DataFrame:
    """A model table (rows matching ``predicate``); ModelError naming the file if unreadable."""
    try:
        frame = pl.scan_parquet(file)
        if predicate is not None:
            frame = frame.filter(predicate)
        return frame.collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ModelError(f"model file {file} is missing or unreadable ({exc})") from None


def _customers(folder: Path) -> pl.DataFrame:
    return _read(folder / MODEL_FILES["customers"]).drop("total_orders", strict=False)


def _matrix(folder: Path, window_end: str | None) -> CustomerItems:
    customers = _read(folder / MODEL_FILES["customers"])
    table = _read(folder / MODEL_FILES["customer_items"])
    try:
        return CustomerItems.from_table(
            table.cast(dict(CUSTOMER_ITEMS_SCHEMA)),
            total_orders=customers.select(pl.col("customer_id").alias("unit"), "total_orders"),
            window_end=datetime.fromisoformat(window_end) if window_end else None,
        )
    except (KeyError, ValueError, pl.exceptions.PolarsError) as exc:
        raise ModelError(
            f"model in {folder} is inconsistent ({exc}); re-run basketlens run"
        ) from None


def _values(folder: Path, items: tuple[str, ...]) -> ItemValues:
    table = _read(folder / MODEL_FILES["item_values"])
    try:
        return ItemValues.from_table(table.cast(dict(ITEM_VALUES_SCHEMA)), items)
    except (KeyError, ValueError, pl.exceptions.PolarsError) as exc:
        raise ModelError(
            f"model in {folder} is inconsistent ({exc}); re-run basketlens run"
        ) from None


def _item_names(folder: Path) -> dict[str, str]:
    items = _read(folder / MODEL_FILES["items"])
    return dict(zip(items["item"].to_list(), items["item_name"].to_list(), strict=True))


def _segmenter_loader(path: Path) -> Any:
    """A function that unpickles the segmenter on first use (trusted folders only)."""

    def load() -> Any:
        if not path.exists():
            raise ModelError(f"this model has no fitted segmenter ({path}); re-run basketlens run")
        with path.open("rb") as fh:
            return pickle.load(fh)

    return load
