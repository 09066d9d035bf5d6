"""Vectorised generator of a realistic B2B food-distribution sales ledger with planted truth.

Customers are drawn from the personas of :mod:`basketlens.synth.personas`; orders, lines,
quantities and prices are drawn with numpy in whole-array operations (no Python loop per order
or line), so millions of lines take seconds. Planted dirt (returns, credit notes, duplicated
lines, lines without customer, extreme quantities) is counted in ``SyntheticLedger.dirt``.

Example:
    >>> from basketlens.synth import generate_ledger
    >>> led = generate_ledger(n_customers=40, months=2, seed=1)
    >>> led.sales.columns[:3]
    ['SalesDocumentNumber', 'Date_CD', 'SoldToCustomer_CD']
    >>> led.dirt["duplicate_lines"] >= 5
    True
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from basketlens._validation import check_option
from basketlens.errors import ParameterError
from basketlens.synth._sampling import _counts_by_share, _sample_rows, _sorted_unique
from basketlens.synth.catalog import CATEGORY_NAMES, TIERS, Catalog, build_catalog
from basketlens.synth.customers import customer_table
from basketlens.synth.family import persona_family
from basketlens.synth.options import SynthOptions
from basketlens.synth.personas import Persona

logger = logging.getLogger(__name__)

SALES_SCHEMA = pl.Schema(
    {
        "SalesDocumentNumber": pl.String,
        "Date_CD": pl.Int64,
        "SoldToCustomer_CD": pl.String,
        "Item_CD": pl.String,
        "SalesQuantity": pl.Float64,
        "NetSalesValue": pl.Float64,
    }
)
PERSONAS_SCHEMA = pl.Schema({"SoldToCustomer_CD": pl.String, "persona": pl.String})
AFFINITIES_SCHEMA = pl.Schema(
    {
        "persona": pl.String,
        "antecedent": pl.List(pl.String),
        "consequent": pl.String,
        "strength": pl.Float64,
    }
)

#: Dirt rates: duplicated lines and lines without customer (each at least ``_MIN_DIRT``).
DUPLICATE_RATE = 0.0005
MISSING_CUSTOMER_RATE = 0.0003
OUTLIER_LINE_RATE = 0.0002
CREDIT_NOTE_SHARE = 0.6  # share of returns booked on a 'C' credit note (others: same invoice)
KEY_ACCOUNT_RATE = 0.01  # customers with a 6x volume (heavy tail)
TAIL_PARETO_ALPHA = 1.5  # Pareto index of the volume factor of heavy-tail customers
REPERTOIRE_SHARE = 0.7  # share of lines drawn from the customer's habitual items
_MAX_REPERTOIRE = 64
_MIN_DIRT = 5
_CUSTOMER_BASE = 100_001
_DOCUMENT_BASE = 40_000_001
_WEEKDAY_FACTORS = np.array([1.2, 1.1, 1.0, 1.1, 1.2, 0.45, 0.0])  # Monday first


@dataclass(frozen=True)
class SyntheticLedger:
    """A generated ledger in ERP layout plus the planted truth.

    ``sales``/``items``/``customers`` are what an ERP export would hold; ``personas`` (customer
    → planted persona) and ``affinities`` are the truth (never part of an export); ``options``
    are the generator's parameters; ``dirt`` counts the planted dirt:
    ``return_lines`` (negative quantity), ``credit_note_lines`` and ``credit_notes`` ('C'
    documents, all negative), ``duplicate_lines`` (extra exact copies), ``missing_customer_lines``
    (null customer), ``outlier_lines`` (quantity x20–50), ``key_accounts`` (customers x6 volume),
    ``heavy_tail_customers`` (volume x a Pareto draw, with ``tail`` > 0).
    """

    sales: pl.DataFrame
    items: pl.DataFrame
    customers: pl.DataFrame
    personas: pl.DataFrame
    affinities: pl.DataFrame
    dirt: dict[str, int] = field(default_factory=dict)
    options: SynthOptions = field(default_factory=SynthOptions)

    def write(
        self, out_dir: str | Path, *, format: Literal["csv", "parquet"] = "csv", truth: bool = False
    ) -> dict[str, Path]:
        """Write ``sales``, ``items`` and ``customers`` to ``out_dir``; with ``truth`` also the
        personas and affinities, and ``synth.json`` (the parameters and the dirt counts), under
        ``truth/``. Return the paths by table name (``synth`` for the JSON).

        Example:
            >>> import tempfile
            >>> led = generate_ledger(n_customers=8, months=1)
            >>> sorted(led.write(tempfile.mkdtemp()))
            ['customers', 'items', 'sales']
        """
        check_option("format", format, ("csv", "parquet"))
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables: dict[str, tuple[pl.DataFrame, Path]] = {
            name: (getattr(self, name), out) for name in ("sales", "items", "customers")
        }
        if truth:
            (out / "truth").mkdir(exist_ok=True)
            affinities = self.affinities
            if format == "csv":  # CSV has no list type: "a;b"
                affinities = affinities.with_columns(pl.col("antecedent").list.join(";"))
            tables["personas"] = (self.personas, out / "truth")
            tables["affinities"] = (affinities, out / "truth")
        paths: dict[str, Path] = {}
        if truth:
            record = {"generator": self.options.as_dict(), "dirt": self.dirt}
            paths["synth"] = out / "truth" / "synth.json"
            paths["synth"].write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        for name, (frame, folder) in tables.items():
            path = folder / f"{name}.{format}"
            if format == "csv":
                frame.write_csv(path)
            else:
                frame.write_parquet(path)
            paths[name] = path
        logger.info("wrote %d demo tables to %s", len(paths), out)
        return paths


def _add_months(start: date, months: int) -> date:
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(start.day, last))


def _item_weights(cat: Catalog, persona: Persona) -> np.ndarray:
    cat_w = np.array([persona.category_weights[c] for c in CATEGORY_NAMES])
    tier_w = np.array([persona.tier_weights[t] for t in TIERS])
    w = cat.popularity * cat_w[cat.category] * tier_w[cat.tier]
    return w / w.sum()


@dataclass(frozen=True)
class _Customers:
    persona: np.ndarray  # int8 persona index
    rate: np.ndarray  # orders per month
    basket: np.ndarray  # mean lines per order
    kilo: np.ndarray  # kilo scale
    discount: np.ndarray
    start: np.ndarray  # first active day (int)
    end: np.ndarray  # last active day + 1
    key_account: np.ndarray  # bool
    repertoire: np.ndarray  # number of habitual item slots (<= _MAX_REPERTOIRE)
    heavy: np.ndarray  # bool: volume multiplied by a Pareto draw (``tail``)


def _draw_customers(
    rng: np.random.Generator,
    n: int,
    n_days: int,
    personas: Sequence[Persona],
    *,
    tail: float,
    r_tail: np.random.Generator,
) -> _Customers:
    counts = _counts_by_share(n, np.array([p.share for p in personas]))
    persona = rng.permutation(np.repeat(np.arange(len(personas), dtype=np.int8), counts))

    def per(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in personas], dtype=np.float64)[persona]

    rate = per("orders_per_month") * rng.lognormal(0.0, per("rate_sigma"))
    basket = 1.0 + (per("lines_per_order") - 1.0) * rng.lognormal(0.0, 0.3, n)
    kilo = per("kilo_multiplier") * rng.lognormal(0.0, per("kilo_sigma"))
    repertoire = np.clip(np.round(per("repertoire") * rng.lognormal(0.0, 0.35, n)), 5, None)
    repertoire = np.minimum(repertoire, _MAX_REPERTOIRE).astype(np.int64)
    key_account = rng.random(n) < KEY_ACCOUNT_RATE
    kilo = np.where(key_account, kilo * 6.0, kilo)
    heavy = r_tail.random(n) < tail
    factor = np.sqrt(np.where(heavy, 1.0 + r_tail.pareto(TAIL_PARETO_ALPHA, n), 1.0))
    rate, kilo = rate * factor, kilo * factor  # volume x the Pareto draw
    volume_index = np.log(rate / per("orders_per_month") * kilo / per("kilo_multiplier"))
    discount = np.clip(per("discount") + per("discount_per_log_volume") * volume_index, 0, 0.3)
    late = rng.random(n) < per("late_start")
    start = np.where(late, rng.integers(0, max(n_days * 3 // 4, 1), n), 0)
    churn = rng.random(n) < per("churn")
    span = n_days - start
    end = np.where(churn, start + np.ceil(span * rng.uniform(0.2, 0.9, n)), n_days)
    return _Customers(
        persona,
        rate,
        basket,
        kilo,
        discount,
        start,
        np.maximum(end, start + 1).astype(np.int64),
        key_account,
        repertoire,
        heavy,
    )


def _day_cdf(start: date, n_days: int, personas: Sequence[Persona]) -> np.ndarray:
    """Per-persona cumulative order intensity over the days (seasonality x weekday), in [0, 1]."""
    days = np.datetime64(start, "D") + np.arange(n_days)
    month = (days.astype("M8[M]").astype(np.int64) % 12).astype(np.int64)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    months = np.array([p.month_factors for p in personas])
    density = months[:, month] * _WEEKDAY_FACTORS[weekday][None, :]
    cdf = np.cumsum(density, axis=1)
    return cdf / cdf[:, -1:]


def _date_codes(start: date, n_days: int) -> np.ndarray:
    days = np.datetime64(start, "D") + np.arange(n_days + 31)
    years = days.astype("M8[Y]")
    months = days.astype("M8[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("M8[M]")).astype(np.int64) + 1
    d = (days - months.astype("M8[D]")).astype(np.int64) + 1
    return y * 10_000 + m * 100 + d


def _resolve_affinities(
    cat: Catalog, personas: Sequence[Persona]
) -> list[tuple[int, np.ndarray, int, float, float]]:
    """(persona index, antecedent item indices, consequent item, strength, trigger)."""
    out = []
    for p_idx, p in enumerate(personas):
        weights = _item_weights(cat, p)

        def best(product: str, w: np.ndarray = weights) -> int:
            variants = cat.find(product)
            return int(variants[np.argmax(w[variants])])

        for aff in p.affinities:
            ante = np.array(sorted(best(a) for a in aff.antecedent), dtype=np.int64)
            out.append((p_idx, ante, best(aff.consequent), aff.strength, aff.trigger))
    return out


def generate_ledger(
    *,
    n_customers: int = SynthOptions.n_customers,
    n_lines: int | None = SynthOptions.n_lines,
    months: int = SynthOptions.months,
    start: date = date(2025, 1, 1),
    seed: int = SynthOptions.seed,
    return_rate: float = SynthOptions.return_rate,
    personas: int | None = SynthOptions.personas,
    overlap: float = SynthOptions.overlap,
    tail: float = SynthOptions.tail,
    differ: str = SynthOptions.differ,
) -> SyntheticLedger:
    """Generate a ledger with planted personas, affinities and dirt.

    The parameters are those of :class:`~basketlens.synth.options.SynthOptions` (declared and
    validated there) plus the first day ``start``. ``n_lines`` (optional, >= 1,000) scales the
    order volume of the ``n_customers`` customers and keeps a random subset of orders so the
    sales table has that many lines (within 1%); otherwise volume follows the personas (~105k
    lines for 600 customers of the demo personas over 12 months). For realistic scale
    benchmarks raise ``n_customers`` with ``n_lines``. ``personas``, ``overlap`` and ``differ``
    choose the persona family (:func:`basketlens.synth.family.persona_family`), ``tail`` the
    share of customers with a heavy-tailed volume; the defaults give the demo ledger. The same
    parameters and ``seed`` give identical frames; 1M lines take ~1.5 s, 10M ~12 s and ~2.4 GB.

    Example:
        >>> led = generate_ledger(n_customers=60, n_lines=5_000, seed=3)
        >>> abs(led.sales.height - 5_000) <= 250
        True
        >>> sorted(led.personas["persona"].unique())
        ['occasional_shop', 'premium_deli', 'restaurant', 'wholesale']
        >>> generate_ledger(n_customers=30, personas=2, differ="mix").personas["persona"].n_unique()
        2
    """
    options = SynthOptions(
        n_customers=n_customers,
        n_lines=n_lines,
        months=months,
        seed=seed,
        return_rate=return_rate,
        personas=personas,
        overlap=overlap,
        tail=tail,
        differ=differ,
    ).validate()
    if not isinstance(start, date):
        raise ParameterError(f"start must be a datetime.date; got {start!r}")
    family = persona_family(personas, overlap=overlap, differ=differ)
    t0 = time.perf_counter()
    start = date(start.year, start.month, start.day)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    r_cust, r_names, r_orders, r_lines, r_aff, r_qty, r_dirt, r_thin, r_tail = rngs
    n_days = (_add_months(start, months) - start).days
    cat = build_catalog()
    cust = _draw_customers(r_cust, n_customers, n_days, family, tail=tail, r_tail=r_tail)
    customers = customer_table(r_names, cust.persona, family, first_code=_CUSTOMER_BASE)

    # --- orders: Poisson counts around lognormal customer rates (negative-binomial mixture)
    lam = cust.rate * (cust.end - cust.start) / n_days * months
    target = None
    if n_lines is not None:
        target = n_lines / (1.0 + return_rate + DUPLICATE_RATE)
        lam = lam * 1.2 * target / float(np.sum(lam * cust.basket))
    o_cust = np.repeat(np.arange(n_customers), np.maximum(r_orders.poisson(lam), 1))
    n_orders = o_cust.size
    p_o = cust.persona[o_cust].astype(np.int64)
    s_o, e_o = cust.start[o_cust], cust.end[o_cust]
    cdf = _day_cdf(start, n_days, family)
    lo = np.where(s_o > 0, cdf[p_o, np.maximum(s_o - 1, 0)], 0.0)
    hi = cdf[p_o, e_o - 1]
    u = lo + r_orders.random(n_orders) * (hi - lo) + p_o
    flat = (cdf + np.arange(len(family))[:, None]).ravel()
    day = np.clip(np.searchsorted(flat, u, side="left") - p_o * n_days, s_o, e_o - 1)
    chrono = np.lexsort((r_orders.random(n_orders), day))
    o_cust, day, p_o = o_cust[chrono], day[chrono], p_o[chrono]
    del s_o, e_o, lo, hi, u, chrono

    # --- lines: basket sizes, items from the persona mix, planted affinities, unique items
    k = 1 + r_lines.poisson(cust.basket[o_cust] - 1.0)
    l_order = np.repeat(np.arange(n_orders, dtype=np.int64), k)
    item_w = np.stack([_item_weights(cat, p) for p in family])
    l_item = _sample_rows(r_lines, item_w, p_o[l_order])
    # most lines come from the customer's habitual items (a per-customer repertoire)
    habits = _sample_rows(
        r_lines, item_w, np.repeat(cust.persona.astype(np.int64), _MAX_REPERTOIRE)
    )
    habits = habits.reshape(n_customers, _MAX_REPERTOIRE)
    c_l = o_cust[l_order]
    slot = (r_lines.random(l_order.size) * cust.repertoire[c_l]).astype(np.int64)
    habitual = r_lines.random(l_order.size) < REPERTOIRE_SHARE
    l_item = np.where(habitual, habits[c_l, slot], l_item)
    del c_l, slot, habitual
    extra_o: list[np.ndarray] = [l_order]
    extra_i: list[np.ndarray] = [l_item]
    for p_idx, ante, cons, strength, trigger in _resolve_affinities(cat, family):
        in_p = p_o == p_idx
        trig = in_p & (r_aff.random(n_orders) < trigger)
        has_all = in_p.copy()
        for a in ante:
            has = np.zeros(n_orders, dtype=bool)
            has[l_order[l_item == a]] = True
            has_all &= has | trig
            extra_o.append(np.flatnonzero(trig))
            extra_i.append(np.full(extra_o[-1].size, a))
        extra_o.append(np.flatnonzero(has_all & (r_aff.random(n_orders) < strength)))
        extra_i.append(np.full(extra_o[-1].size, cons))
    n_items = cat.n_items
    key = _sorted_unique(np.concatenate(extra_o) * n_items + np.concatenate(extra_i))
    del extra_o, extra_i, l_order, l_item
    l_order, l_item = key // n_items, key % n_items
    del key

    if target is not None:  # keep a random subset of orders holding ~target lines
        counts = np.bincount(l_order, minlength=n_orders)
        perm = r_thin.permutation(n_orders)
        n_keep = int(np.searchsorted(np.cumsum(counts[perm]), target, side="right"))
        keep = np.zeros(n_orders, dtype=bool)
        keep[perm[:n_keep]] = True
        new_id = np.cumsum(keep) - 1
        line_keep = keep[l_order]
        l_order, l_item = new_id[l_order[line_keep]], l_item[line_keep]
        o_cust, day = o_cust[keep], day[keep]
        n_orders = o_cust.size
        del counts, perm, keep, new_id, line_keep

    # --- quantities (kilos) and net values
    n_base = l_order.size
    c_l = o_cust[l_order]
    qty = cat.line_kg[l_item] * cust.kilo[c_l] * r_qty.lognormal(0.0, 0.5, n_base)
    outlier = r_qty.random(n_base) < OUTLIER_LINE_RATE
    qty[outlier] *= r_qty.uniform(20.0, 50.0, int(outlier.sum()))
    qty = np.maximum(np.round(qty, 2), 0.01)
    price = cat.price_per_kg[l_item] * (1.0 - cust.discount[c_l])
    price *= r_qty.lognormal(0.0, 0.04, n_base) * np.where(r_qty.random(n_base) < 0.05, 0.85, 1)
    net = np.maximum(np.round(qty * price, 2), 0.01)
    del price, c_l

    # --- returns: negative lines, on 'C' credit notes (dated later) or on the invoice itself
    ret = np.flatnonzero(r_dirt.random(n_base) < return_rate)
    frac = r_dirt.uniform(0.1, 1.0, ret.size)
    r_qty = np.maximum(np.round(qty[ret] * frac, 2), 0.01)
    r_net = -np.maximum(np.round(net[ret] * r_qty / qty[ret], 2), 0.01)
    credit = r_dirt.random(ret.size) < CREDIT_NOTE_SHARE
    r_order = l_order[ret]
    r_day = day[r_order] + np.where(credit, 1 + (r_order * 7919) % 14, 0)
    r_day = np.minimum(r_day, n_days - 1)

    all_order = np.concatenate([l_order, r_order])
    all_credit = np.concatenate([np.zeros(n_base, dtype=np.int64), credit.astype(np.int64)])
    all_day = np.concatenate([day[l_order], r_day])
    all_kind = np.concatenate([np.zeros(n_base, np.int64), np.ones(ret.size, np.int64)])
    all_item = np.concatenate([l_item, l_item[ret]])
    sort_key = ((all_day * 2 + all_credit) << 41) | (all_order << 10) | (all_kind << 9) | all_item
    idx = np.argsort(sort_key, kind="stable")
    del sort_key
    all_order, all_credit, all_day = all_order[idx], all_credit[idx], all_day[idx]
    all_kind, all_item = all_kind[idx], all_item[idx]
    all_cust = o_cust[all_order]
    all_qty = np.concatenate([qty, -r_qty])[idx]
    all_net = np.concatenate([net, r_net])[idx]
    del idx, qty, net, l_order, l_item

    # --- missing customers and exact duplicates, drawn among the ordinary lines
    eligible = np.flatnonzero(all_kind == 0)
    n_dup = max(_MIN_DIRT, round(n_base * DUPLICATE_RATE))
    n_miss = max(_MIN_DIRT, round(n_base * MISSING_CUSTOMER_RATE))
    picked = eligible[r_dirt.choice(eligible.size, min(n_dup + n_miss, eligible.size), False)]
    all_cust[picked[:n_miss]] = -1
    dup = picked[n_miss:]
    take = np.sort(np.concatenate([np.arange(all_order.size), dup]))

    doc = pl.Series(_DOCUMENT_BASE + all_order[take]).cast(pl.String)
    sales = pl.DataFrame(
        {
            "SalesDocumentNumber": doc,
            "credit": all_credit[take].astype(bool),
            "Date_CD": _date_codes(start, n_days)[all_day[take]],
            "cust": all_cust[take],
            "Item_CD": cat.items["Item_CD"].gather(all_item[take]),
            "SalesQuantity": all_qty[take],
            "NetSalesValue": all_net[take],
        }
    ).select(
        pl.when(pl.col("credit"))
        .then(pl.lit("C") + pl.col("SalesDocumentNumber"))
        .otherwise(pl.col("SalesDocumentNumber"))
        .alias("SalesDocumentNumber"),
        pl.col("Date_CD").cast(pl.Int64),
        pl.when(pl.col("cust") >= 0)
        .then((pl.col("cust") + _CUSTOMER_BASE).cast(pl.String))
        .alias("SoldToCustomer_CD"),
        "Item_CD",
        "SalesQuantity",
        "NetSalesValue",
    )
    dirt = {
        "return_lines": int(ret.size),
        "credit_note_lines": int(credit.sum()),
        "credit_notes": int(_sorted_unique(r_order[credit]).size),
        "duplicate_lines": int(dup.size),
        "missing_customer_lines": int(min(n_miss, picked.size)),
        "outlier_lines": int(outlier.sum()),
        "key_accounts": int(cust.key_account.sum()),
        "heavy_tail_customers": int(cust.heavy.sum()),
    }
    personas = pl.DataFrame(
        {
            "SoldToCustomer_CD": customers["SoldToCustomer_CD"],
            "persona": [family[p].name for p in cust.persona],
        },
        schema=PERSONAS_SCHEMA,
    )
    codes = cat.items["Item_CD"]
    affinities = pl.DataFrame(
        [
            (family[p].name, [codes[int(a)] for a in ante], codes[cons], strength)
            for p, ante, cons, strength, _ in _resolve_affinities(cat, family)
        ],
        schema=AFFINITIES_SCHEMA,
        orient="row",
    )
    logger.info(
        "generated demo ledger: %d lines, %d documents, %d customers in %.2f s",
        sales.height,
        n_orders + dirt["credit_notes"],
        n_customers,
        time.perf_counter() - t0,
    )
    return SyntheticLedger(sales, cat.items, customers, personas, affinities, dirt, options)
