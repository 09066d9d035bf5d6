r"""Plain-language reasons for a recommendation, quoting the numbers of the rule behind it.

Rules are mined on baskets (orders), so the sentence speaks of orders: confidence is the share
of the scope's orders containing the antecedent that also contain the consequent, lift how many
times more often that is than the consequent's share of all the scope's orders. Names come from
the data and are inserted as plain text (renderers escape them).

Example:
    >>> text = rule_reason(scope_label="Shops", antecedent=["Brie"],
    ...                    consequent=["Baguette"], confidence=0.78, lift=3.1, item="Baguette")
    >>> print(*text.split("; "), sep=";\n")
    In 78% of the 'Shops' orders that contain Brie, Baguette is bought too — 3.1× its usual rate;
    this customer buys Brie and has never bought Baguette.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

__all__ = ["join_names", "percent", "rule_reason"]


def percent(share: float) -> str:
    """``0.78`` → ``"78%"`` (whole percent; below 1% one decimal).

    Example:
        >>> percent(0.75), percent(0.004)
        ('75%', '0.4%')
    """
    return f"{share:.1%}" if 0 < share < 0.01 else f"{share:.0%}"


def join_names(names: Sequence[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``.

    Example:
        >>> join_names(["Brie"]), join_names(["Brie", "Comté", "Bread"])
        ('Brie', 'Brie, Comté and Bread')
    """
    names = [str(n) for n in names]
    if len(names) <= 1:
        return names[0] if names else ""
    return f"{', '.join(names[:-1])} and {names[-1]}"


def rule_reason(
    *,
    scope_label: str | None,
    antecedent: Sequence[str],
    consequent: Sequence[str],
    confidence: float,
    lift: float | None,
    item: str,
    subject: Literal["customer", "basket"] = "customer",
    more_rules: int = 0,
) -> str:
    """One sentence (two with ``more_rules``) explaining why ``item`` is suggested.

    ``scope_label`` is the segment name, or None for the rules mined on all orders.
    ``more_rules`` other rules pointing to the same item are mentioned by count.
    """
    orders = f"the '{scope_label}' orders" if scope_label is not None else "all orders"
    cons = join_names(consequent)
    verb = "is" if len(consequent) == 1 else "are"
    rate = ""
    if antecedent and lift is not None and math.isfinite(lift):  # {} -> Y always has lift 1
        rate = (
            f" — {lift:.1f}× its usual rate"
            if len(consequent) == 1
            else (f" — {lift:.1f}× their usual rate")
        )
    if antecedent:
        ante = join_names(antecedent)
        head = f"In {percent(confidence)} of {orders} that contain {ante}, {cons} {verb} bought too"
        tail = (
            f"this customer buys {ante} and has never bought {item}"
            if subject == "customer"
            else f"the basket has {ante} but not {item}"
        )
    else:
        head = f"{percent(confidence)} of {orders} contain {cons}"
        tail = (
            f"this customer has never bought {item}"
            if subject == "customer"
            else f"the basket does not have {item}"
        )
    text = f"{head}{rate}; {tail}."
    if more_rules > 0:
        plural = "rules point" if more_rules > 1 else "rule points"
        text += f" {more_rules} more {plural} to {item}."
    return text
