"""Baseline recommenders the backtest compares the default with, on the same fitted signals.

* ``popularity`` — the items bought by the most customers;
* ``segment_popularity`` — the items bought by the most customers of the customer's segment;
* ``item_knn`` — cosine item-kNN scores (:class:`~basketlens.recommender.itemitem.ItemKnn`);
* ``ease`` — EASE scores (:class:`~basketlens.recommender.itemitem.Ease`), with the λ the
  recommender chose on its inner validation split (never on the backtest's test period);
* ``random`` — never-bought items drawn uniformly from the catalogue (seeded).

Every method recommends only never-bought items; item_knn and ease only the model items
(those bought by at least ``min_buyers`` customers, at most ``max_items`` of them).
Ties are broken by item id.

Example:
    >>> top = baseline(fitted.signals, "ease", top_n=5)   # doctest: +SKIP
    >>> top.columns                                       # doctest: +SKIP
    ['customer_id', 'rank', 'item']
"""

from __future__ import annotations

import numpy as np
import polars as pl

from basketlens._validation import check_interval, check_option
from basketlens.recommender.itemitem import chunks, top_k
from basketlens.recommender.signals import Signals

__all__ = ["BASELINES", "baseline"]

BASELINES: tuple[str, ...] = ("popularity", "segment_popularity", "item_knn", "ease", "random")
_CHUNK = 4_000


def _frame(s: Signals, rows: np.ndarray, cols: np.ndarray, ranks: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": pl.Series(s.matrix.customers, dtype=pl.String).gather(rows),
            "rank": pl.Series(ranks, dtype=pl.Int32),
            "item": pl.Series(s.matrix.items, dtype=pl.String).gather(cols),
        }
    )


def _by_order(s: Signals, order: np.ndarray, groups: np.ndarray, top_n: int) -> pl.DataFrame:
    """The first ``top_n`` never-bought items of each row's ``order[group]``."""
    out_r, out_c, out_k = [], [], []
    for part in chunks(s.matrix.n_customers, _CHUNK):
        width = top_n
        pending = part
        while pending.size:
            pool = order[groups[pending], :width]
            owned = s.matrix.has(np.repeat(pending, pool.shape[1]), pool.ravel()).reshape(
                pool.shape
            )
            fresh = ~owned
            enough = (fresh.sum(axis=1) >= top_n) | (width >= order.shape[1])
            done = pending[enough]
            f = fresh[enough]
            taken = f & (np.cumsum(f, axis=1) <= top_n)
            counts = taken.sum(axis=1)
            out_r.append(np.repeat(done, counts))
            out_c.append(pool[enough][taken])
            out_k.append(np.concatenate([np.arange(1, c + 1) for c in counts]) if done.size else [])
            pending = pending[~enough]
            width = min(width * 4, order.shape[1])
    rows = np.concatenate(out_r)
    ranks = np.concatenate([np.asarray(k, dtype=np.int64) for k in out_k])
    frame = _frame(s, rows, np.concatenate(out_c), ranks)
    return frame.sort("customer_id", "rank")


def _scored(s: Signals, which: str, top_n: int) -> pl.DataFrame:
    model = s.ease if which == "ease" else s.knn
    out_r, out_c, out_k = [], [], []
    for part in chunks(s.matrix.n_customers, _CHUNK):
        Xc = s.X[part]
        scores = model.scores(Xc)
        r, c = Xc.nonzero()
        scores[r, c] = -np.inf
        # ties by item id: the model items are sorted by id, top_k sorts stably by score
        best = top_k(scores, top_n)
        ok = best >= 0
        out_r.append(np.repeat(part, ok.sum(axis=1)))
        out_c.append(s.cols[best[ok]])
        out_k.append(np.tile(np.arange(1, best.shape[1] + 1), (part.size, 1))[ok])
    return _frame(s, np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_k))


def _random(s: Signals, top_n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    everything = np.arange(s.matrix.n_items)
    out_r, out_c, out_k = [], [], []
    for row in range(s.matrix.n_customers):
        pool = np.setdiff1d(everything, s.matrix.row_items(row), assume_unique=True)
        picked = rng.choice(pool, size=min(top_n, pool.size), replace=False)
        out_r.append(np.full(picked.size, row))
        out_c.append(picked)
        out_k.append(np.arange(1, picked.size + 1))
    return _frame(s, np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_k))


def baseline(s: Signals, method: str, *, top_n: int, seed: int = 0) -> pl.DataFrame:
    """Top ``top_n`` never-bought items per customer by ``method`` (customer_id, rank, item)."""
    check_option("method", method, BASELINES)
    check_interval("top_n", top_n, low=1, integer=True)
    if method == "popularity":
        order = np.lexsort((np.arange(s.n_items), -s.buyers))[None, :]
        return _by_order(s, order, np.zeros(s.matrix.n_customers, dtype=np.int64), top_n)
    if method == "segment_popularity":
        order = np.argsort(-s.share, axis=1, kind="stable")
        return _by_order(s, order, s.group(np.arange(s.matrix.n_customers)), top_n)
    if method == "random":
        return _random(s, top_n, seed)
    return _scored(s, method, top_n)
