"""Plain-language persona names and two-line descriptions of segments.

**Persona rules.** A trait is *high* when ``z >= 0.5`` and *low* when ``z <= -0.5``:

* ``recency_days`` high → "Lapsed" (first word); not used when low.
* ``tenure_days`` (only if not lapsed) high → "Long-standing", low → "New".
* ``net_sales_per_unit`` or ``price_tier_share__high`` high → "premium";
  ``net_sales_per_unit`` low → suffix "low price per unit", ``price_tier_share__low`` high →
  suffix "value-priced items".
* frequency = mean z of ``invoice_count``, ``avg_monthly_orders`` and
  −``avg_days_between_orders`` (those present): high → "frequent", low → "occasional".
* size: ``total_quantity`` high → "high-volume", else ``total_net_sales`` high → "high-spend";
  both low → "small", only quantity low → "low-volume", only spend low → "low-spend".
* ``avg_basket_value`` (else ``avg_basket_size``) → suffix "large baskets" / "small baskets".
* ``distinct_items`` → suffix "wide range" / "narrow range".
* ``avg_line_value`` → suffix "large order lines" / "small order lines".
* ``brand_share__x`` / ``category_share__x`` / ``mix__j`` (basket type) high → suffix
  "favour <label>", the label naming the brand, category or basket type (its top
  categories or items) when the feature table gives one.

**Descriptions.** Line 1, volume: up to three volume features with ``|z| >= 0.5``, strongest
first, as the segment's median against all customers' ("6.1 orders a month (all customers:
2.0)"). Line 2, mix: up to two share or mix features with ``z >= 0.5`` as the segment's mean
share against all customers' ("Buys more Fromages: 41% of spend (all customers: 12%)"). A
segment with no such trait reads "close to the typical customer".

Words are assembled as ``[status] [premium] [frequency] [size] buyers[, up to two suffixes by
|z|]``; a lapsed segment with no other trait is "Lapsed customers", a segment with no trait at
all "Typical buyers". Names are made distinct: segments sharing a name get ", higher <x>" /
", lower <x>" for the feature whose z differs most between them, and any remaining duplicates
a " (2)", " (3)" suffix in segment order.

Example:
    >>> describe_segment({"total_quantity": 1.8, "invoice_count": 1.1, "net_sales_per_unit": -0.9})
    'Frequent high-volume buyers, low price per unit'
    >>> describe_segment({"recency_days": 1.5, "total_quantity": -0.2})
    'Lapsed customers'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

#: z thresholds of a "high" and a "low" trait.
HIGH = 0.5
LOW = -0.5

#: Nouns used when two segments must be told apart ("higher <noun>").
FEATURE_NOUNS: dict[str, str] = {
    "total_quantity": "volume",
    "total_net_sales": "spend",
    "net_sales_per_unit": "price per unit",
    "invoice_count": "order count",
    "avg_days_between_orders": "gaps between orders",
    "avg_monthly_orders": "monthly orders",
    "recency_days": "days since last order",
    "tenure_days": "tenure",
    "avg_basket_size": "basket size",
    "avg_basket_value": "basket value",
    "distinct_items": "item range",
    "avg_line_value": "order-line value",
}

#: Prefixes of the share and mix columns: what a segment buys.
MIX_PREFIXES = ("category_share__", "brand_share__", "price_tier_share__", "mix__")

_FREQUENCY = {"invoice_count": 1.0, "avg_monthly_orders": 1.0, "avg_days_between_orders": -1.0}


def is_mix(feature: str) -> bool:
    """Whether ``feature`` is a share or mix column (what is bought, not how much).

    Example:
        >>> is_mix("category_share__fromages"), is_mix("total_net_sales")
        (True, False)
    """
    return feature.startswith(MIX_PREFIXES)


def label_of(feature: str, labels: Mapping[str, str] | None = None) -> str:
    """What a share or mix column is about, in words: the feature table's label, else one
    made from the column name.

    Example:
        >>> label_of("category_share__frozen_fish"), label_of("mix__2")
        ('frozen fish', 'basket type 2')
        >>> label_of("mix__2", {"mix__2": "Fromages & Charcuterie"})
        'Fromages & Charcuterie'
    """
    if labels and feature in labels:
        return labels[feature]
    if feature.startswith("mix__"):
        return "basket type " + feature[len("mix__") :]
    if feature.startswith("price_tier_share__"):
        return feature[len("price_tier_share__") :] + "-priced items"
    return feature.split("__", 1)[-1].replace("_", " ")


def _noun(feature: str, labels: Mapping[str, str] | None = None) -> str:
    if feature in FEATURE_NOUNS:
        return FEATURE_NOUNS[feature]
    if feature.startswith("brand_share__"):
        return "share of brand " + label_of(feature, labels)
    if is_mix(feature):
        return "share of " + label_of(feature, labels)
    return feature.replace("_", " ")


def describe_segment(z: Mapping[str, float], labels: Mapping[str, str] | None = None) -> str:
    """Plain-language persona of one segment from its z-profile (feature -> z).

    Features absent from ``z`` are simply not used; ``labels`` names share and mix columns.

    Example:
        >>> describe_segment({"total_quantity": -1.0, "total_net_sales": -0.8,
        ...                   "invoice_count": -0.7})
        'Occasional small buyers'
    """

    def high(f: str) -> bool:
        return f in z and z[f] >= HIGH

    def low(f: str) -> bool:
        return f in z and z[f] <= LOW

    words: list[str] = []
    suffixes: list[tuple[float, str]] = []
    lapsed = high("recency_days")
    if lapsed:
        words.append("lapsed")
    elif high("tenure_days"):
        words.append("long-standing")
    elif low("tenure_days"):
        words.append("new")
    if high("net_sales_per_unit") or high("price_tier_share__high"):
        words.append("premium")
    elif low("net_sales_per_unit"):
        suffixes.append((abs(z["net_sales_per_unit"]), "low price per unit"))
    if high("price_tier_share__low"):
        suffixes.append((abs(z["price_tier_share__low"]), "value-priced items"))
    freq = [sign * z[f] for f, sign in _FREQUENCY.items() if f in z]
    if freq:
        f_mean = float(np.mean(freq))
        if f_mean >= HIGH:
            words.append("frequent")
        elif f_mean <= LOW:
            words.append("occasional")
    if high("total_quantity"):
        words.append("high-volume")
    elif high("total_net_sales"):
        words.append("high-spend")
    elif low("total_quantity") and low("total_net_sales"):
        words.append("small")
    elif low("total_quantity"):
        words.append("low-volume")
    elif low("total_net_sales"):
        words.append("low-spend")
    basket = "avg_basket_value" if "avg_basket_value" in z else "avg_basket_size"
    if high(basket):
        suffixes.append((abs(z[basket]), "large baskets"))
    elif low(basket):
        suffixes.append((abs(z[basket]), "small baskets"))
    if high("distinct_items"):
        suffixes.append((abs(z["distinct_items"]), "wide range"))
    elif low("distinct_items"):
        suffixes.append((abs(z["distinct_items"]), "narrow range"))
    if high("avg_line_value"):
        suffixes.append((abs(z["avg_line_value"]), "large order lines"))
    elif low("avg_line_value"):
        suffixes.append((abs(z["avg_line_value"]), "small order lines"))
    for f in sorted(z):
        tier = f.startswith("price_tier_share__")
        if is_mix(f) and not tier and not f.endswith("__other") and high(f):
            suffixes.append((abs(z[f]), f"favour {label_of(f, labels)}"))
    suffixes.sort(key=lambda s: -s[0])  # stable: equal |z| keep rule order
    if words == ["lapsed"] and not suffixes:
        return "Lapsed customers"
    name = " ".join([*words, "buyers"]) if words else "typical buyers"
    if suffixes:
        name += ", " + ", ".join(text for _, text in suffixes[:2])
    return name[0].upper() + name[1:]


def persona_names(
    z: np.ndarray, features: Sequence[str], labels: Mapping[str, str] | None = None
) -> list[str]:
    """Distinct persona names for segments ``0..k-1`` from their z-profiles ``(k, n_features)``.

    Example:
        >>> persona_names(np.array([[1.0, 0.0], [1.0, 2.0]]), ["total_quantity", "tenure_days"])
        ['High-volume buyers', 'Long-standing high-volume buyers']
    """
    z = np.asarray(z, dtype=np.float64)
    names = [describe_segment(dict(zip(features, row, strict=True)), labels) for row in z]
    for name in sorted(set(names)):
        group = [i for i, n in enumerate(names) if n == name]
        if len(group) < 2 or not features:
            continue
        spread = z[group].max(axis=0) - z[group].min(axis=0)
        j = int(np.argmax(spread))  # first feature on ties: deterministic
        if spread[j] <= 0:
            continue
        centre = z[group, j].mean()
        for i in group:
            word = "higher" if z[i, j] > centre else "lower"
            names[i] = f"{name}, {word} {_noun(features[j], labels)}"
    used: set[str] = set()
    for i, name in enumerate(names):
        number = 1
        while names[i] in used:
            number += 1
            names[i] = f"{name} ({number})"
        used.add(names[i])
    return names


# ----------------------------------------------------------------------------- descriptions
#: How a volume feature's value reads in a description: a format of the value ("{v}").
_PHRASES: dict[str, str] = {
    "avg_monthly_orders": "{v} orders a month",
    "invoice_count": "{v} orders",
    "avg_days_between_orders": "{v} days between orders",
    "avg_basket_size": "{v} items per order",
    "avg_basket_value": "{v} per order",
    "avg_line_value": "{v} per order line",
    "total_net_sales": "{v} in all",
    "total_quantity": "{v} units in all",
    "net_sales_per_unit": "{v} per unit",
    "recency_days": "last order {v} days ago",
    "tenure_days": "a customer for {v} days",
    "distinct_items": "{v} distinct items",
}


def number(value: float) -> str:
    """A number for a sentence: 0.55, 6.1, 950, 12.3k, 4.1M.

    Example:
        >>> [number(v) for v in (0.5512, 6.14, 950.4, 12_345.0, -4_100_000.0)]
        ['0.55', '6.1', '950', '12.3k', '-4.1M']
    """
    if not math.isfinite(value):
        return "n/a"
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"


def describe_segments(
    raw: np.ndarray,
    z: np.ndarray,
    labels: np.ndarray,
    features: Sequence[str],
    words: Mapping[str, str] | None = None,
) -> list[str]:
    """Two lines per segment (joined by a newline): its volume, then its mix, each compared
    with all customers. ``raw`` holds the unscaled features, ``z`` the segment centroids in
    standardised units, ``labels`` the segment of each customer, ``words`` the labels of the
    share and mix columns.

    Example:
        >>> raw = np.array([[1.0, 0.1], [1.2, 0.2], [8.0, 0.7], [9.0, 0.8]])
        >>> z = np.array([[-1.0, -1.0], [1.0, 1.0]])
        >>> print(describe_segments(raw, z, np.array([0, 0, 1, 1]),
        ...       ["avg_monthly_orders", "category_share__fromages"], {})[1])
        8.5 orders a month (all customers: 4.6).
        Buys more fromages: 75% of spend (all customers: 45%).
    """
    k = z.shape[0]
    overall_median = np.median(raw, axis=0) if raw.size else np.zeros(len(features))
    overall_mean = raw.mean(axis=0) if raw.size else np.zeros(len(features))
    mix = [j for j, f in enumerate(features) if is_mix(f)]
    volume = [j for j, f in enumerate(features) if not is_mix(f)]
    out = []
    for s in range(k):
        rows = raw[labels == s]
        parts = []
        for j in sorted(volume, key=lambda j: -abs(z[s, j]))[:3]:
            if abs(z[s, j]) < HIGH or rows.size == 0:
                continue
            phrase = _PHRASES.get(features[j], _noun(features[j]) + " {v}")
            mine, all_ = float(np.median(rows[:, j])), float(overall_median[j])
            parts.append(f"{phrase.format(v=number(mine))} (all customers: {number(all_)})")
        first = ", ".join(parts) if parts else "Volume and frequency close to the typical customer"
        lines = [first[0].upper() + first[1:] + "."]
        if mix:
            buys = []
            for j in sorted(mix, key=lambda j: -z[s, j])[:2]:
                if z[s, j] < HIGH or rows.size == 0 or features[j].endswith("__other"):
                    continue
                what = label_of(features[j], words)
                share = float(rows[:, j].mean())
                buys.append(f"{what}: {share:.0%} of spend (all customers: {overall_mean[j]:.0%})")
            fewer = []
            if not buys:  # nothing stands out above: say what stands out below, if anything
                for j in sorted(mix, key=lambda j: z[s, j])[:2]:
                    if z[s, j] > LOW or rows.size == 0 or features[j].endswith("__other"):
                        continue
                    what = label_of(features[j], words)
                    share = float(rows[:, j].mean())
                    fewer.append(
                        f"{what}: {share:.0%} of spend (all customers: {overall_mean[j]:.0%})"
                    )
            if buys:
                lines.append("Buys more " + "; and more ".join(buys) + ".")
            elif fewer:
                lines.append("Buys less " + "; and less ".join(fewer) + ".")
            else:
                lines.append("Buys the usual mix, close to the typical customer.")
        out.append("\n".join(lines))
    return out
