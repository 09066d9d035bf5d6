"""Stage one: candidate items per customer, and the features the ranker scores them on.

Candidates of a customer are the never-bought items that any source puts forward: the
``candidates`` best by EASE and by item-kNN, the ``POPULAR`` most-bought items of the
customer's segment, of everyone and of the last 30 days, and every item a rule backs — so the
top five of every baseline of the backtest but random are among them. Features
(:data:`FEATURES`, one registry: name, evidence group, meaning) are computed for each
(customer, candidate) pair; the evidence group is what a reason names.

Example:
    >>> cands = candidate_features(signals, np.arange(100), candidates=30)   # doctest: +SKIP
    >>> cands.features.shape                                                  # doctest: +SKIP
    (5800, 14)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from basketlens._arrays import rank_within_rows, unique_sorted
from basketlens.recommender.itemitem import top_k
from basketlens.recommender.signals import Signals

__all__ = [
    "CUSTOMER_FEATURES",
    "EVIDENCE",
    "FEATURES",
    "FEATURE_NAMES",
    "POPULAR",
    "RANK_FEATURES",
    "Candidates",
    "Feature",
    "candidate_features",
]

#: Candidates per customer from segment, overall and recent popularity (each).
POPULAR = 10


@dataclass(frozen=True)
class Feature:
    """One ranker feature: its name, the evidence group a reason names, what it measures."""

    name: str
    group: str
    description: str


#: Evidence groups a reason can name, strongest wording first (customer features are never one).
EVIDENCE: dict[str, str] = {
    "rule": "a mined association rule (orders of the customer's segment, or of everyone)",
    "segment_copurchase": "customers of the same segment who bought one of this customer's items",
    "copurchase": "customers who bought the same items as this customer (EASE, item-kNN)",
    "segment": "how many customers of the segment buy the item",
    "popularity": "how many customers buy the item, overall and in the last 30 days",
}

FEATURES: tuple[Feature, ...] = (
    Feature("ease", "copurchase", "EASE score of the item for the customer"),
    Feature("ease_rank", "copurchase", "log(1 + rank by EASE among the customer's candidates)"),
    Feature("knn", "copurchase", "item-kNN (cosine) score of the item for the customer"),
    Feature("knn_rank", "copurchase", "log(1 + rank by item-kNN among the candidates)"),
    Feature(
        "copurchase",
        "copurchase",
        "highest share of the buyers of one of the customer's items who also bought this one",
    ),
    Feature(
        "segment_copurchase",
        "segment_copurchase",
        "the same share within the customer's segment",
    ),
    Feature("rule_confidence", "rule", "highest confidence of a rule that backs the item"),
    Feature("rule_lift", "rule", "log of that rule's lift"),
    Feature("segment_share", "segment", "share of the segment's customers who bought the item"),
    Feature("popularity", "popularity", "log(1 + customers who bought the item)"),
    Feature(
        "recent_popularity",
        "popularity",
        "log(1 + customers who bought the item in the last 30 days)",
    ),
    Feature("customer_items", "customer", "log(1 + distinct items the customer bought)"),
    Feature("customer_orders", "customer", "log(1 + the customer's orders)"),
    Feature("customer_recency", "customer", "log(1 + days since the customer's last purchase)"),
    Feature(
        "customer_tenure",
        "customer",
        "log(1 + days from the customer's first purchase to the cut-off): a short history hides "
        "items the customer buys but was not seen buying",
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
#: Features that order a customer's candidates; the customer features only calibrate.
RANK_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.group != "customer")
CUSTOMER_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.group == "customer")

# the candidate pool of segment / recent popularity: the top items before removing owned ones
_POOL = POPULAR + 100


@dataclass(frozen=True, eq=False)
class Candidates:
    """(row, col) candidate pairs, sorted by row then item code, with features and the evidence
    for reasons."""

    rows: np.ndarray  # matrix row of the customer
    cols: np.ndarray  # item code
    features: np.ndarray  # float64 (pairs × len(FEATURES))
    rule: np.ndarray  # index of the strongest rule (-1 none)
    copurchase_item: np.ndarray  # item code behind `copurchase` (-1 none)
    copurchase_base: np.ndarray  # customers who bought that item
    segment_item: np.ndarray  # item code behind `segment_copurchase` (-1 none)
    segment_base: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.size)

    def feature(self, name: str) -> np.ndarray:
        return self.features[:, FEATURE_NAMES.index(name)]


def _unique_pairs(
    rows: np.ndarray, cols: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    keep = cols >= 0
    key = unique_sorted(rows[keep].astype(np.int64) * n_items + cols[keep])
    return key // n_items, key % n_items


def _popular(
    signals: Signals, rows: np.ndarray, order: np.ndarray, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The first POPULAR never-bought items of each row from ``order`` (per group when given)."""
    pool = order[:, :_POOL] if groups is not None else np.tile(order[:_POOL], (rows.size, 1))
    if groups is not None:
        pool = pool[groups]
    r = np.repeat(rows, pool.shape[1])
    owned = signals.matrix.has(r, pool.ravel()).reshape(pool.shape)
    fresh = ~owned & (pool >= 0)
    taken = fresh & (np.cumsum(fresh, axis=1) <= POPULAR)
    return np.repeat(rows, taken.sum(axis=1)), pool[taken]


def candidate_features(signals: Signals, rows: np.ndarray, *, candidates: int) -> Candidates:
    """Candidates and features of the customers ``rows`` (a sorted chunk of matrix rows)."""
    s = signals
    Xc = s.X[rows]
    E = s.ease.scores(Xc)
    K = s.knn.scores(Xc)
    owned_r, owned_c = Xc.nonzero()
    E[owned_r, owned_c] = -np.inf
    K[owned_r, owned_c] = -np.inf
    local = np.arange(rows.size)
    parts_r, parts_c = [], []
    for scores in (E, K):
        best = top_k(scores, candidates)
        ok = best >= 0
        parts_r.append(np.repeat(local, ok.sum(axis=1)))
        parts_c.append(s.cols[best[ok]])
    groups = s.group(rows)
    seg_order = np.argsort(-s.share, axis=1, kind="stable")
    r, c = _popular(s, rows, seg_order, groups)
    parts_r.append(np.searchsorted(rows, r))
    parts_c.append(c)
    for order in (
        np.lexsort((np.arange(s.n_items), -s.buyers)),  # most bought overall
        np.lexsort((-s.buyers, -s.recent)),  # most bought in the last 30 days
    ):
        r, c = _popular(s, rows, order, None)
        parts_r.append(np.searchsorted(rows, r))
        parts_c.append(c)
    r, c = s.rules.candidates(rows, s.n_items)
    parts_r.append(np.searchsorted(rows, r))
    parts_c.append(c)
    lr, cols = _unique_pairs(np.concatenate(parts_r), np.concatenate(parts_c), s.n_items)
    prs = rows[lr]

    mpos = s.pos[cols]
    inside = mpos >= 0
    ease = np.where(inside, E[lr, np.maximum(mpos, 0)], 0.0)
    knn = np.where(inside, K[lr, np.maximum(mpos, 0)], 0.0)
    ease = np.where(np.isfinite(ease), ease, 0.0)
    knn = np.where(np.isfinite(knn), knn, 0.0)
    ease_rank = rank_within_rows(lr, np.where(inside, ease, -np.inf))
    knn_rank = rank_within_rows(lr, np.where(inside, knn, -np.inf))

    n = lr.size
    cop = np.zeros(n)
    cop_item = np.full(n, -1, dtype=np.int64)
    cop_base = np.zeros(n)
    seg = np.zeros(n)
    seg_item = np.full(n, -1, dtype=np.int64)
    seg_base = np.zeros(n)
    sel = np.flatnonzero(inside)
    if sel.size:
        owned_model = Xc.toarray() > 0  # chunk × model items
        local_rows = lr[sel]
        cop[sel], cop_item[sel], cop_base[sel] = s.copurchase.best(
            np.zeros(sel.size, dtype=np.int64), mpos[sel], owned_model, local_rows
        )
        g = groups[local_rows]
        in_seg = np.flatnonzero(g > 0)
        if in_seg.size:
            share, item, base = s.copurchase.best(
                g[in_seg], mpos[sel][in_seg], owned_model, local_rows[in_seg]
            )
            seg[sel[in_seg]], seg_item[sel[in_seg]], seg_base[sel[in_seg]] = share, item, base
    cop_item = np.where(cop_item >= 0, s.cols[np.maximum(cop_item, 0)], -1)
    seg_item = np.where(seg_item >= 0, s.cols[np.maximum(seg_item, 0)], -1)

    conf, lift, rule = s.rules.lookup(prs * s.n_items + cols)
    features = np.column_stack(
        [
            ease,
            np.log1p(ease_rank),
            knn,
            np.log1p(knn_rank),
            cop,
            seg,
            conf,
            np.log(np.maximum(lift, 1.0)),
            s.share[groups[lr], cols],
            np.log1p(s.buyers[cols]),
            np.log1p(s.recent[cols]),
            s.customer_features[prs],
        ]
    )
    return Candidates(
        rows=prs,
        cols=cols,
        features=features,
        rule=rule,
        copurchase_item=cop_item,
        copurchase_base=cop_base,
        segment_item=seg_item,
        segment_base=seg_base,
    )
