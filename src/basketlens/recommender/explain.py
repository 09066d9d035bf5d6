"""The reason of each recommendation: the sentence of its strongest evidence, with its numbers.

:func:`candidate_reasons` words the kept candidates of
:meth:`~basketlens.recommender.stage.FittedRecommender.rank`: each distinct sentence is
written once (the reasons of thousands of customers repeat a few thousand sentences): the
candidates are grouped by what their sentence says with one sort, and only the groups are
worded in Python.

Example:
    >>> reasons = candidate_reasons(signals, names, cands, keep, strongest,  # doctest: +SKIP
    ...                             items, segments, segment_names)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from basketlens._arrays import lexsort
from basketlens.opportunities.reasons import rule_reason
from basketlens.recommender.candidates import EVIDENCE, Candidates
from basketlens.recommender.reasons import copurchase_reason, popularity_reason, segment_reason
from basketlens.recommender.signals import RECENT_DAYS, Signals

__all__ = ["candidate_reasons"]

_EVIDENCE = tuple(EVIDENCE)
_GROUP = {name: i for i, name in enumerate(_EVIDENCE)}


def candidate_reasons(
    signals: Signals,
    names: dict[str, str],
    cands: Candidates,
    keep: np.ndarray,
    strongest: np.ndarray,
    items: list[str],
    segments: list[int],
    segment_names: list[str | None],
) -> list[str]:
    """The reason of each kept candidate (``keep``: indices into ``cands``; ``strongest``: the
    index into :data:`~basketlens.recommender.candidates.EVIDENCE` of the evidence it quotes;
    the item labels, segments and segment names are per kept candidate).

    The candidates are grouped by everything their sentence depends on (numpy, one sort), and
    each group's sentence is written once from its first candidate.
    """
    s = signals
    rules = s.rules.rules
    sizes = dict(zip(*np.unique(s.segment, return_counts=True), strict=True))
    group = np.asarray(strongest, dtype=np.int64)
    n = group.size
    if n == 0:
        return []
    cols = cands.cols[keep]
    seg = np.asarray(segments, dtype=np.int64)
    known: dict[str | None, int] = {}
    name_id = np.array([known.setdefault(x, len(known)) for x in segment_names], dtype=np.int64)
    inside = group == _GROUP["segment_copurchase"]
    quoted = inside | (group == _GROUP["copurchase"])
    labelled = inside | (group == _GROUP["rule"]) | (group == _GROUP["segment"])
    other = np.where(inside, cands.segment_item[keep], cands.copurchase_item[keep])
    base = np.where(inside, cands.segment_base[keep], cands.copurchase_base[keep])
    share = np.where(
        inside,
        cands.feature("segment_copurchase")[keep],
        cands.feature("copurchase")[keep],
    )
    fields = (  # what the sentence depends on, 0 where it does not; the last is sorted first
        np.where(labelled, name_id, 0),
        np.where(labelled, seg, 0),
        np.where(quoted, base.view(np.int64), 0),
        np.where(quoted, share.view(np.int64), 0),
        np.where(quoted, other, 0),
        np.where(group == _GROUP["rule"], cands.rule[keep], 0),
        cols,
        group,
    )
    order = lexsort(fields)
    new = np.ones(n, dtype=bool)
    new[1:] = np.any(np.column_stack([f[order[1:]] != f[order[:-1]] for f in fields]), axis=1)
    first = order[new]  # one candidate of each group
    which = np.empty(n, dtype=np.int64)
    which[order] = np.cumsum(new) - 1
    texts = []
    for k in first.tolist():
        key = _key(_EVIDENCE[group[k]], k, cands, keep, segments, segment_names)
        texts.append(_reason(s, key, items[k], names, rules, sizes))
    return np.asarray(texts, dtype=object)[which].tolist()


def _key(
    group: str,
    k: int,
    cands: Candidates,
    keep: np.ndarray,
    segments: list[int],
    segment_names: list[str | None],
) -> tuple[Any, ...]:
    """What the sentence of the ``k``-th kept candidate says, its evidence being ``group``."""
    at = int(keep[k])
    col = int(cands.cols[at])
    segment = segments[k]
    label = segment_names[k] or (f"Segment {segment}" if segment >= 0 else None)
    if group == "rule":
        return (group, int(cands.rule[at]), col, label)
    if group in ("segment_copurchase", "copurchase"):
        inside = group == "segment_copurchase"
        other = int(cands.segment_item[at] if inside else cands.copurchase_item[at])
        base = cands.segment_base[at] if inside else cands.copurchase_base[at]
        share = float(cands.feature(group)[at])
        return (group, other, col, round(share, 6), float(base), label if inside else None)
    if group == "segment":
        return (group, col, segment, label)
    return (group, col)


def _reason(
    s: Signals,
    key: tuple[Any, ...],
    item: str,
    names: dict[str, str],
    rules: pl.DataFrame,
    sizes: dict[int, int],
) -> str:
    group = key[0]
    if group == "rule":
        _, index, _, label = key
        rule = rules.row(index, named=True)
        scope = rule["scope"]
        return rule_reason(
            scope_label=None if scope == "all" else (label or scope),
            antecedent=[names.get(i, i) for i in rule["antecedent"]],
            consequent=[names.get(i, i) for i in rule["consequent"]],
            confidence=rule["confidence"],
            lift=rule["lift"],
            item=item,
        )
    if group in ("segment_copurchase", "copurchase"):
        _, other, _, share, base, label = key
        other_id = s.matrix.items[other]
        return copurchase_reason(
            share=share,
            base=base,
            antecedent=names.get(other_id, other_id),
            item=item,
            segment_label=label,
        )
    col = key[1]
    if group == "segment":
        _, _, segment, label = key
        g = s.copurchase.segments.index(segment) + 1
        return segment_reason(share=float(s.share[g, col]), size=int(sizes[segment]),
                              segment_label=label or str(segment), item=item)  # fmt: skip
    return popularity_reason(
        share=float(s.share[0, col]),
        customers=s.matrix.n_customers,
        recent=int(s.recent[col]),
        recent_days=RECENT_DAYS,
        item=item,
    )
