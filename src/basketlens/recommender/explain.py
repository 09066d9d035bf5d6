"""The reason of each recommendation: the sentence of its strongest evidence, with its numbers.

:func:`candidate_reasons` words the kept candidates of
:meth:`~basketlens.recommender.stage.FittedRecommender.rank`: each distinct sentence is
written once (the reasons of thousands of customers repeat a few thousand sentences), from
plain Python lists rather than numpy scalars, per candidate.

Example:
    >>> reasons = candidate_reasons(signals, names, cands, keep, evidence,  # doctest: +SKIP
    ...                             items, segments, segment_names)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from basketlens.opportunities.reasons import rule_reason
from basketlens.recommender.candidates import Candidates
from basketlens.recommender.reasons import copurchase_reason, popularity_reason, segment_reason
from basketlens.recommender.signals import RECENT_DAYS, Signals

__all__ = ["candidate_reasons"]


def candidate_reasons(
    signals: Signals,
    names: dict[str, str],
    cands: Candidates,
    keep: np.ndarray,
    evidence: list[str],
    items: list[str],
    segments: list[int],
    segment_names: list[str | None],
) -> list[str]:
    """The reason of each kept candidate (``keep``: indices into ``cands``; ``evidence``, the
    item labels, segments and segment names are per kept candidate)."""
    s = signals
    rules = s.rules.rules
    sizes = dict(zip(*np.unique(s.segment, return_counts=True), strict=True))
    cols = cands.cols[keep].tolist()
    rule = cands.rule[keep].tolist()
    copurchase = {
        "segment_copurchase": (
            cands.segment_item[keep].tolist(),
            cands.segment_base[keep].tolist(),
            cands.feature("segment_copurchase")[keep].tolist(),
        ),
        "copurchase": (
            cands.copurchase_item[keep].tolist(),
            cands.copurchase_base[keep].tolist(),
            cands.feature("copurchase")[keep].tolist(),
        ),
    }
    written: dict[tuple[Any, ...], str] = {}
    out = []
    for k, group in enumerate(evidence):
        col = cols[k]
        segment = segments[k]
        label = segment_names[k] or (f"Segment {segment}" if segment >= 0 else None)
        if group == "rule":
            key: tuple[Any, ...] = (group, rule[k], col, label)
        elif group in copurchase:
            other, base, share = (values[k] for values in copurchase[group])
            inside = group == "segment_copurchase"
            key = (group, other, col, round(share, 6), float(base), label if inside else None)
        elif group == "segment":
            key = (group, col, segment, label)
        else:
            key = (group, col)
        text = written.get(key)
        if text is None:
            text = written[key] = _reason(s, key, items[k], names, rules, sizes)
        out.append(text)
    return out


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
