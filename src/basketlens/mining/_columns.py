"""Array helpers that build the rules table's columns without Python loops (guts of
:mod:`basketlens.mining.rules`): item-rank rows, radix sort keys, ``list<str>`` columns from
Arrow buffers and rule ids.

Example:
    >>> _rule_ids(2).to_list()
    ['r000001', 'r000002']
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa


def _rank_rows(mats: list[np.ndarray], rank: np.ndarray) -> np.ndarray:
    """Rows of item ranks (string order), sorted within each row, padded with -1."""
    width = max((m.shape[1] for m in mats), default=0)
    out = np.full((sum(len(m) for m in mats), width), -1, dtype=np.int32)
    start = 0
    for m in mats:
        rows, w = m.shape
        r = rank[m]
        if w > 1 and not (r[:, 1:] >= r[:, :-1]).all():
            r.sort(axis=1)
        out[start : start + rows, :w] = r
        start += rows
    return out


def _float_key(x: np.ndarray) -> np.ndarray:
    """uint64 keys in the order of the float64 values ``x`` (no NaN; -0.0 ties 0.0)."""
    u = (x + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
    return np.where(u >> np.uint64(63), ~u, u | np.uint64(1 << 63))


def _radix_keys(fields: list[tuple[np.ndarray, int]], size: int) -> list[np.ndarray]:
    """np.lexsort keys (least significant first) ordering rows like the tuple of ``fields``
    (non-negative integer arrays, each given with its bit width). The fields are concatenated
    as one big-endian bit string cut into uint16 keys, which numpy sorts by radix sort."""
    pieces: list[tuple[np.ndarray, int]] = []
    for values, bits in fields:  # fields wider than 32 bits go in 16-bit pieces
        if bits <= 32:
            pieces.append((values.astype(np.uint32, copy=False), bits))
            continue
        v = values.astype(np.uint64, copy=False)
        for shift in range(bits - 16, -16, -16):
            w = 16 + min(shift, 0)
            part = (v >> np.uint64(max(shift, 0))) & np.uint64((1 << w) - 1)
            pieces.append((part.astype(np.uint32), w))
    keys: list[np.ndarray] = []
    acc, used = np.zeros(size, dtype=np.uint32), 0
    for v, bits in pieces:
        while bits > 0:
            take = min(16 - used, bits)
            part = v >> np.uint32(bits - take) if bits > take else v
            if take < 32:
                part = part & np.uint32((1 << take) - 1)
            acc = (acc << np.uint32(take)) | part
            used, bits = used + take, bits - take
            if used == 16:
                keys.append(acc.astype(np.uint16))
                acc, used = np.zeros(size, dtype=np.uint32), 0
    if used:
        keys.append(acc.astype(np.uint16))
    return keys[::-1]


def _lists(names: pl.Series, ranks: np.ndarray, name: str) -> pl.Series:
    """A list<str> column from padded rank rows (row-major, -1 padding dropped).

    Built from Arrow buffers, not ``pa.array``: the latter imports pandas (~0.3 s start-up).
    """
    lengths = (ranks >= 0).sum(axis=1)
    off = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    values = names.gather(ranks[ranks >= 0]).to_arrow()
    arr = pa.Array.from_buffers(
        pa.large_list(values.type), len(lengths), [None, pa.py_buffer(off)], children=[values]
    )
    return pl.Series(name, arr).cast(pl.List(pl.String))


def _rule_ids(n: int) -> pl.Series:
    """``r000001``, … ``r{n}`` (at least six digits), written as bytes in numpy."""
    width = max(6, len(str(n)))
    num = np.arange(1, n + 1, dtype=np.int64)
    chars = np.empty((n, width + 1), dtype=np.uint8)
    chars[:, 0] = ord("r")
    for p in range(width, 0, -1):
        chars[:, p] = num % 10 + ord("0")
        num //= 10
    offsets = np.arange(n + 1, dtype=np.int64) * (width + 1)
    arr = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars)]
    )
    return pl.Series("rule_id", arr, dtype=pl.String)
