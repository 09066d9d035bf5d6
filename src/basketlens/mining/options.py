"""Options of the mine stage: thresholds, rule shape and pruning, one vocabulary for every
miner (``min_support``, ``min_count``, ``min_confidence``, ``max_len``, …).

With neither ``min_support`` nor ``min_count`` given, threshold help searches the integer
``min_count`` that yields about ``target_rules`` rules per scope
(:attr:`MiningOptions.searches_threshold`), counting only the rules the filters
(``min_confidence``, ``min_lift``, ``min_len``, ``max_len``, ``consequent_max_len``) keep.
Without ``target_rules`` it mines at the lowest ``min_count`` whose rules stay within the
blow-up guard ``max_rules``, and pruning (``prune_redundant``) and significance
(``significant``, ``significance_test``, ``adjust``) decide how many rules are reported —
the profile of ``basketlens run`` (:func:`basketlens.config.run_mining_defaults`).
The defaults never run away: ``max_len`` is unlimited but the search never goes deeper than
the longest itemset the data allow, and ``max_itemsets`` caps every mining run.

Example:
    >>> MiningOptions(min_support=1.5).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: min_support must be in (0, 1]; got 1.5
    >>> MiningOptions().searches_threshold
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Boolean, ByteSize, Interval, OneOf, Options, Registered, param
from basketlens.errors import ParameterError

#: p-value adjustments: Holm step-down, Bonferroni, Benjamini–Hochberg (FDR), none.
ADJUSTMENTS: tuple[str, ...] = ("holm", "bonferroni", "bh", "none")
#: What the significance test compares a rule X → Y with: independence of X and Y (arules
#: ``is.significant``), or also every rule with one left-hand item fewer (Webb 2007,
#: "productive" rules).
SIGNIFICANCE_TESTS: tuple[str, ...] = ("independence", "productive")
_MEASURES = "basketlens.mining.measures:MEASURES"


@dataclass(frozen=True)
class MiningOptions(Options):
    """The ``[mine]`` section."""

    section = "mine"
    panel = "Rule mining"

    enabled: bool = param(
        True,
        Boolean(),
        "Mine association rules.",
        cli="--no-rules",
        sets=False,
        flag_help="Skip rule mining (and opportunities).",
    )
    per_segment: bool = param(
        True,
        Boolean(),
        "Mine each segment's baskets as well as all baskets.",
        cli="--no-segment-rules",
        sets=False,
        flag_help="Mine all baskets only, not each segment.",
    )
    min_support: float | None = param(
        None,
        Interval(float, 0, 1, closed="right", allow_none=True),
        "Minimum share of baskets for an itemset, e.g. 0.01.",
        cli="--min-support",
        default_text="found by threshold help (see target_rules)",
    )
    min_count: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Minimum number of baskets for an itemset, instead of a share, e.g. 10.",
        cli="--min-count",
    )
    target_rules: int | None = param(
        200,
        Interval(int, 1, allow_none=True),
        "Without a support: aim for about this many rules per scope (threshold help).",
        cli="--target-rules",
    )
    max_rules: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Without a support or target_rules: mine at the lowest min_count whose rules (before "
        "pruning) stay within this many per scope, a guard against blow-up.",
        cli="--max-rules",
    )
    min_confidence: float = param(
        0.5,
        Interval(float, 0, 1),
        "Minimum confidence of a rule (rules exactly at it are kept).",
        cli="--min-confidence",
    )
    min_lift: float | None = param(
        None, Interval(float, 0, allow_none=True), "Minimum lift, e.g. 1.", cli="--min-lift"
    )
    max_len: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Longest itemset mined (antecedent + consequent), e.g. 4.",
        cli="--max-len",
        default_text="none (bounded by the data and by max_itemsets)",
    )
    min_len: int = param(
        2,
        Interval(int, 1),
        "Shortest rule (antecedent + consequent); 1 allows {} -> Y.",
        cli="--min-len",
    )
    consequent_max_len: int | None = param(
        1,
        Interval(int, 1, allow_none=True),
        "Most items on the right-hand side (none: any; --multi-consequent).",
        cli="--multi-consequent",
        sets=None,
        flag_help="Allow several items on the right-hand side.",
    )
    measures: tuple[str, ...] | None = param(
        None,
        Registered(_MEASURES, many=True, allow_none=True),
        "Measures computed for each rule, comma-separated (see docs/measures.md).",
        cli="--measures",
        split=",",
        default_text="support, confidence, lift and the counts-based defaults",
    )
    prune_redundant: bool = param(
        False,
        Boolean(),
        "Drop rules with a more general rule of at least the same confidence.",
        cli="--prune-redundant/--keep-redundant",
    )
    significant: float | None = param(
        None,
        Interval(float, 0, 1, closed="right", allow_none=True),
        "Keep rules whose Fisher exact test is significant at this level, e.g. 0.05 (1: no "
        "test, every rule is kept).",
        cli="--significant",
    )
    significance_test: str = param(
        "independence",
        OneOf(SIGNIFICANCE_TESTS),
        "What --significant tests: 'independence' of the two sides (as arules), or "
        "'productive': also better than every rule with one left-hand item fewer (Webb 2007).",
        cli="--significance-test",
    )
    adjust: str = param(
        "holm",
        OneOf(ADJUSTMENTS),
        "Multiple-testing correction of --significant.",
        cli="--adjust",
    )
    min_customers: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Keep rules seen at this many customers at least (a basket holding all their items); "
        "fewer is one customer's reordering habit, not a pattern (1: no check).",
        cli="--min-customers",
    )
    top: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Keep the best N rules per scope by sort_by.",
        cli="--top-rules",
    )
    sort_by: str = param(
        "lift", Registered(_MEASURES), "Measure that orders the rules.", cli="--sort-by"
    )
    itemsets: bool = param(
        False,
        Boolean(),
        "Also write itemsets.parquet (the frequent itemsets of every scope).",
        cli="--itemsets",
        sets=True,
    )
    max_itemsets: int | None = param(
        5_000_000,
        Interval(int, 1, allow_none=True),
        "Itemset budget: stop with an error naming a higher support beyond this many.",
    )
    max_memory: int | None = param(
        None,
        ByteSize(allow_none=True),
        "Memory budget: stop the itemset search with an error naming a higher support or a "
        "max_len before the process uses more than this, e.g. 4G.",
        cli="--max-memory",
        default_text="memory in use plus half of the memory available when mining starts",
    )
    min_scope_baskets: int = param(
        10, Interval(int, 1), "A segment with fewer baskets gets no rules (and a note)."
    )
    generalised: bool = param(
        False,
        Boolean(),
        "Also mine rules between item families and between categories (multi-level rules), "
        "when the items give such a hierarchy.",
        cli="--no-generalised-rules",
        sets=False,
        flag_help="Mine item-level rules only, not rules between families and categories.",
    )

    @property
    def searches_threshold(self) -> bool:
        """True when neither ``min_support`` nor ``min_count`` is given."""
        return self.min_support is None and self.min_count is None

    def _check_together(self) -> None:
        if self.searches_threshold and self.target_rules is None and self.max_rules is None:
            raise ParameterError(
                "give min_support, min_count or target_rules (or the guard max_rules); got "
                "none of them"
            )
        if self.min_support is not None and self.min_count is not None:
            raise ParameterError(
                f"give min_support or min_count, not both; got min_support={self.min_support}, "
                f"min_count={self.min_count}"
            )
        if self.max_len is not None and self.min_len > self.max_len:
            raise ParameterError(
                f"min_len must be <= max_len; got min_len={self.min_len}, max_len={self.max_len}"
            )
