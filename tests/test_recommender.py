"""The recommender: item–item models against brute-force oracles, the ranker, the spend model,
the stage on planted ledgers (coverage, reasons, money, variants, no look-ahead)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.errors import EmptyInputError, ParameterError
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.options import RecommendOptions
from basketlens.recommender import RECOMMENDATIONS_SCHEMA, explain, run_recommender
from basketlens.recommender import training as training_module
from basketlens.recommender.baselines import baseline
from basketlens.recommender.candidates import EVIDENCE, FEATURE_NAMES, FEATURES, candidate_features
from basketlens.recommender.itemitem import CoPurchase, Ease, ItemKnn, model_items, top_k
from basketlens.recommender.ranker import Ranker
from basketlens.recommender.reasons import money, period_text, value_text
from basketlens.recommender.signals import cross_sell_rules
from basketlens.recommender.spend import MIN_BUYERS, SpendModel

EVIDENCE_NAMES = tuple(EVIDENCE)

# ---------------------------------------------------------------------- item–item oracles


def _binary(rng: np.random.Generator, n: int, m: int, p: float) -> np.ndarray:
    X = (rng.random((n, m)) < p).astype(np.float64)
    X[np.arange(n), rng.integers(0, m, n)] = 1.0  # every customer bought something
    return X


def test_ease_is_the_closed_form_with_a_zero_diagonal() -> None:
    X = _binary(np.random.default_rng(0), 60, 12, 0.3)
    lam = 7.0
    P = np.linalg.inv(X.T @ X + lam * np.eye(12))
    oracle = np.eye(12) - P / np.diag(P)  # Steck (2019), eq. 8
    fitted = Ease.fit(sp.csr_matrix(X), lam=lam)
    assert np.allclose(fitted.weights, oracle, atol=1e-5)
    assert np.all(np.diag(fitted.weights) == 0)
    # the constrained least-squares optimum: no better B with a zero diagonal nearby
    B = fitted.weights.astype(np.float64)
    loss = np.sum((X - X @ B) ** 2) + lam * np.sum(B**2)
    nudge = np.zeros_like(B)
    nudge[0, 1] = 1e-3
    assert loss < np.sum((X - X @ (B + nudge)) ** 2) + lam * np.sum((B + nudge) ** 2)
    with pytest.raises(ParameterError, match="lam must be > 0"):
        Ease.fit(sp.csr_matrix(X), lam=0.0)


def test_item_knn_keeps_the_top_cosine_neighbours() -> None:
    X = _binary(np.random.default_rng(1), 80, 10, 0.35)
    knn = ItemKnn.fit(sp.csr_matrix(X), neighbours=3)
    norm = np.sqrt(np.diag(X.T @ X))
    cosine = (X.T @ X) / norm[:, None] / norm[None, :]
    np.fill_diagonal(cosine, 0.0)
    for j in range(10):
        kept = np.flatnonzero(knn.weights[:, j])
        assert len(kept) == 3
        assert set(kept) == set(np.argsort(-cosine[:, j], kind="stable")[:3])
        assert np.allclose(knn.weights[kept, j], cosine[kept, j], atol=1e-6)
    scores = knn.scores(sp.csr_matrix(X[:2]))
    assert np.allclose(scores, X[:2] @ knn.weights, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9))
def test_copurchase_best_share_matches_brute_force(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    X = _binary(rng, 30, n, 0.4)
    segment = rng.integers(-1, 2, 30)
    cop = CoPurchase.fit(sp.csr_matrix(X), segment)
    owned = X > 0
    for g, members in enumerate(
        [np.arange(30), *(np.flatnonzero(segment == s) for s in cop.segments)]
    ):
        C = X[members].T @ X[members]
        for customer in range(0, 30, 7):
            targets = np.flatnonzero(~owned[customer])
            if targets.size == 0:
                continue
            share, item, base = cop.best(
                np.full(targets.size, g), targets, owned, np.full(targets.size, customer)
            )
            for t, j in enumerate(targets):
                mine = [i for i in np.flatnonzero(owned[customer]) if C[i, i] > 0 and i != j]
                best = max((C[i, j] / C[i, i] for i in mine), default=0.0)
                assert share[t] == pytest.approx(best, abs=1e-6)
                if best > 0:
                    assert C[item[t], j] / C[item[t], item[t]] == pytest.approx(best, abs=1e-6)
                    assert base[t] == C[item[t], item[t]]
                else:
                    assert item[t] == -1


def test_model_items_and_top_k() -> None:
    assert model_items(np.array([5, 1, 9, 5, 3]), min_buyers=3, max_items=2).tolist() == [0, 2]
    assert model_items(np.array([1, 1]), min_buyers=3, max_items=5).tolist() == []
    s = np.array([[0.1, 0.9, -np.inf, 0.5], [-np.inf, -np.inf, -np.inf, 1.0]])
    assert top_k(s, 3).tolist() == [[1, 3, 0], [3, -1, -1]]
    assert top_k(s, 10).shape == (2, 4)


# ---------------------------------------------------------------------- ranker and money


def test_pairwise_ranker_learns_the_planted_order_and_calibrates() -> None:
    rng = np.random.default_rng(3)
    rows = np.repeat(np.arange(400), 15)
    useful, noise, size = rng.normal(size=(3, rows.size))
    size = np.repeat(rng.normal(size=400), 15)  # a customer-level feature
    p = 1 / (1 + np.exp(-(2.0 * useful + 1.0 * size - 3.0)))
    y = rng.random(rows.size) < p
    F = np.column_stack([useful, noise, size])
    rk = Ranker.fit(F, y, rows=rows, names=("useful", "noise", "size"),
                    rank_features=("useful", "noise"), calibration_features=("size",))  # fmt: skip
    assert rk.rank_coef[0] > 0.5 and abs(rk.rank_coef[1]) < 0.2 * rk.rank_coef[0]
    prob = rk.probability(F)
    # calibrated: predicted and observed rates agree by decile
    order = np.argsort(prob)
    for part in np.array_split(order, 5):
        assert abs(prob[part].mean() - y[part].mean()) < 0.05
    # within a customer the probability orders like the score
    first = rows == 0
    assert np.array_equal(np.argsort(prob[first]), np.argsort(rk.score(F[first])))
    again = Ranker.from_dict(rk.to_dict())
    assert np.allclose(again.probability(F), prob)
    with pytest.raises(EmptyInputError, match="bought and not-bought"):
        Ranker.fit(F, np.zeros(rows.size, bool), rows=rows, names=("useful", "noise", "size"),
                   rank_features=("useful",), calibration_features=("size",))  # fmt: skip


def test_spend_model_recovers_planted_elasticities_and_falls_back() -> None:
    rng = np.random.default_rng(5)
    v = rng.lognormal(3, 1, 800)
    m = rng.lognormal(5, 1, 800)
    spent = 0.5 * v**0.8 * m**0.3 * rng.lognormal(0, 0.4, 800)
    model = SpendModel.fit(v, m, spent)
    assert model.b_item == pytest.approx(0.8, abs=0.05)
    assert model.b_customer == pytest.approx(0.3, abs=0.05)
    # the smearing factor makes the sum unbiased
    assert model.predict(v, m).sum() == pytest.approx(spent.sum(), rel=0.05)
    few = SpendModel.fit(v[: MIN_BUYERS - 1], m[: MIN_BUYERS - 1], spent[: MIN_BUYERS - 1])
    assert (few.b_item, few.b_customer) == (1.0, 0.0)
    assert few.predict(v[:5], m[:5]).sum() == pytest.approx(
        v[:5].sum() * spent[: MIN_BUYERS - 1].sum() / v[: MIN_BUYERS - 1].sum()
    )
    assert SpendModel.fit(v, m, np.zeros(800)).fitted_on == 0
    assert model.predict(np.array([0.0]), np.array([10.0])).tolist() == [0.0]


def test_money_and_period_words() -> None:
    assert money(1234.4, "£") == "£1,234"
    assert money(1234.4, "GBP") == "1,234 GBP"
    assert money(5, None) == "5 (ledger's currency)"
    assert period_text(3) == "the next 3 months"
    assert period_text(1) == "the next month"
    assert period_text(3.27) == "the next 3.3 months"
    assert value_text(0.5, 80.0, 40.0, "€", 6) == (
        "≈ €40 over the next 6 months (50% chance of buying; €80 if bought)"
    )


def test_every_feature_has_an_evidence_group_or_is_a_customer_feature() -> None:
    from basketlens.recommender.candidates import EVIDENCE

    assert tuple(f.name for f in FEATURES) == FEATURE_NAMES
    assert {f.group for f in FEATURES} == {*EVIDENCE, "customer"}


def test_variant_rules_are_skipped_when_rules_say_so() -> None:
    rules = pl.DataFrame({"rule_id": ["a", "b", "c"], "kind": ["cross_sell", "variant", None]})
    assert cross_sell_rules(rules)["rule_id"].to_list() == ["a", "c"]
    assert cross_sell_rules(rules.drop("kind")).height == 3
    assert cross_sell_rules(None) is None


# ---------------------------------------------------------------------- the stage

START = datetime(2024, 1, 1)


def planted_lines(n_customers: int = 120, seed: int = 0) -> pl.DataFrame:
    """Three groups with their own items; within a group, buyers of A adopt B later.

    Over a year each customer buys most of their group's items, some late, so the last
    months hold new purchases the item–item models can predict.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        group = c % 3
        catalogue = [f"g{group}-{k}" for k in range(8)] + ["common-1", "common-2"]
        bought = rng.choice(catalogue, size=rng.integers(3, 9), replace=False)
        for k, item in enumerate(bought):
            day = int(rng.integers(0, 360)) if k > 1 else int(rng.integers(0, 120))
            for repeat in range(int(rng.integers(1, 3))):
                date = START + timedelta(days=min(day + 20 * repeat, 364))
                rows.append((f"c{c:03d}", item, f"{c}-{date:%j}", date, float(2 + k)))
    return pl.DataFrame(
        {
            "unit": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "basket": [r[2] for r in rows],
            "date": [r[3] for r in rows],
            "quantity": [1.0] * len(rows),
            "net_sales": [r[4] for r in rows],
        }
    )


def planted_customers(lines: pl.DataFrame) -> pl.DataFrame:
    ids = lines["unit"].unique().sort()
    seg = [int(i[1:]) % 3 for i in ids.to_list()]
    return pl.DataFrame(
        {
            "customer_id": ids,
            "customer_name": [f"Shop {i}" for i in ids.to_list()],
            "segment": pl.Series(seg, dtype=pl.Int32),
            "segment_name": [f"Group {s}" for s in seg],
        }
    )


@pytest.fixture(scope="module")
def planted():
    lines = planted_lines()
    customers = planted_customers(lines)
    options = RecommendOptions(top_n=3, min_buyers=2, candidates=8)
    result = run_recommender(lines, customers, options=options, currency="£")
    return lines, customers, result


def test_every_customer_gets_a_full_list_of_never_bought_items(planted) -> None:
    lines, _, result = planted
    recs = result.recommendations
    assert recs.schema == RECOMMENDATIONS_SCHEMA
    assert recs["customer_id"].n_unique() == lines["unit"].n_unique()  # coverage 100%
    per = recs.group_by("customer_id").len()["len"]
    owned = lines.select(pl.col("unit").alias("customer_id"), "item").unique()
    catalogue = lines["item"].n_unique()
    sizes = owned.group_by("customer_id").len().rename({"len": "owned"})
    expected = sizes.with_columns(full=pl.min_horizontal(pl.lit(3), catalogue - pl.col("owned")))
    got = recs.group_by("customer_id").len().join(expected, on="customer_id")
    assert (got["len"] == got["full"]).all() and per.max() == 3
    assert recs.join(owned, on=["customer_id", "item"], how="semi").height == 0
    ranks = recs.group_by("customer_id").agg(pl.col("rank").sort())["rank"].to_list()
    assert all(r == list(range(1, len(r) + 1)) for r in ranks)
    # deeper lists for the model, same top rows
    top = result.ranked.filter(pl.col("rank") <= 3)
    assert top.equals(recs)


def test_probability_value_currency_and_period(planted) -> None:
    _, _, result = planted
    recs = result.recommendations
    assert recs["probability"].is_between(0, 1, closed="none").all()
    assert (
        recs["expected_value"] - recs["probability"] * recs["expected_spend"]
    ).abs().max() < 1e-9
    assert set(recs["currency"].to_list()) == {"£"}
    assert set(recs["period_months"].to_list()) == {3.0}
    first = recs.row(0, named=True)
    assert first["value_text"] == value_text(
        first["probability"], first["expected_spend"], first["expected_value"], "£", 3.0
    )
    # within a customer the list is ordered by probability
    ordered = recs.group_by("customer_id").agg(pl.col("probability"))["probability"].to_list()
    assert all(p == sorted(p, reverse=True) for p in ordered)


def test_reasons_quote_true_numbers(planted) -> None:
    lines, customers, result = planted
    recs = result.recommendations
    assert set(recs["evidence"].unique()) <= {"segment_copurchase", "copurchase", "segment",
                                              "popularity", "rule"}  # fmt: skip
    owned = lines.group_by("unit").agg(pl.col("item").unique()).rows()
    bought = {c: set(items) for c, items in owned}
    seg = dict(customers.select("customer_id", "segment").iter_rows())
    checked = 0
    for r in recs.filter(pl.col("evidence") == "segment_copurchase").iter_rows(named=True):
        # "Of the N 'Group g' customers who buy X, P% also buy Y; ..."
        head = r["reason"].split(", ")[0]
        n = int(head.split(" ")[2])
        other = head.split(" who buy ")[1]
        assert other in bought[r["customer_id"]]
        group = [c for c, s in seg.items() if s == seg[r["customer_id"]]]
        buyers = [c for c in group if other in bought[c]]
        both = [c for c in buyers if r["item"] in bought[c]]
        assert n == len(buyers)
        assert f"{len(both) / len(buyers):.0%} also buy {r['item']}" in r["reason"]
        assert r["reason"].endswith(f"has never bought {r['item']}.")
        checked += 1
    assert checked > 10


def test_the_same_inputs_give_the_same_recommendations(planted) -> None:
    lines, customers, result = planted
    again = run_recommender(
        lines,
        customers,
        options=RecommendOptions(top_n=3, min_buyers=2, candidates=8),
        currency="£",
    )
    assert again.recommendations.equals(result.recommendations)


def test_training_never_sees_the_last_horizon_and_lambda_comes_from_the_grid(
    planted, monkeypatch
) -> None:
    lines, customers, result = planted
    training = result.fitted.training
    assert training.ranker is not None and training.note == ""
    cut = datetime.fromisoformat(training.stats["inner_cut"])
    assert cut == lines["date"].max() - timedelta(days=3 * 30.4375)
    assert training.lam in training.lam_scores
    seen: list[datetime] = []
    real = training_module.CustomerItems.from_lines

    def spy(part: pl.DataFrame) -> CustomerItems:
        seen.append(part["date"].max())
        return real(part)

    mined: list[datetime] = []
    monkeypatch.setattr(training_module.CustomerItems, "from_lines", spy)
    training_module.train(
        lines,
        customers,
        options=RecommendOptions(min_buyers=2),
        horizon_days=91.3,
        mine=lambda part: mined.append(part["date"].max()),
    )
    assert seen and all(d < cut + timedelta(days=1) for d in seen)
    assert mined and mined[0] < lines["date"].max() - timedelta(days=91)


def test_a_short_ledger_falls_back_to_a_fixed_order_and_still_recommends() -> None:
    lines = planted_lines(30).filter(pl.col("date") < START + timedelta(days=60))
    result = run_recommender(lines, planted_customers(lines), options=RecommendOptions(top_n=2))
    assert "too short" in result.fitted.training.note
    assert result.summary()["ranker"].startswith("fixed ordering")
    assert result.recommendations["customer_id"].n_unique() == lines["unit"].n_unique()


def test_rules_back_recommendations_and_variants_are_skipped(planted) -> None:
    lines, customers, _ = planted
    rules = pl.DataFrame(
        {
            "rule_id": ["all-r1", "all-r2"],
            "scope": ["all", "all"],
            "antecedent": [["g0-0"], ["g0-0"]],
            "consequent": [["g0-1"], ["g0-2"]],
            "support": [0.1, 0.1],
            "confidence": [0.99, 0.98],
            "lift": [9.0, 9.0],
            "kind": ["cross_sell", "variant"],
        }
    )
    options = RecommendOptions(top_n=3, min_buyers=2, candidates=8)
    result = run_recommender(lines, customers, rules=rules, options=options)
    ranked = result.ranked
    backed = ranked.filter(pl.col("rule_ids").list.len() > 0)
    assert backed.height > 0
    assert set(backed["rule_ids"].explode().to_list()) == {"all-r1"}  # the variant is skipped
    assert (backed["item"] == "g0-1").all()
    by_rule = ranked.filter(pl.col("evidence") == "rule")
    for reason in by_rule["reason"].to_list():
        assert reason.startswith("In 99% of all orders that contain g0-0, g0-1 is bought too")


def test_baselines_recommend_never_bought_items_by_their_scores(planted) -> None:
    lines, _, result = planted
    s = result.fitted.signals
    owned = lines.select(pl.col("unit").alias("customer_id"), "item").unique()
    for method in ("popularity", "segment_popularity", "item_knn", "ease", "random"):
        top = baseline(s, method, top_n=3, seed=1)
        assert top.columns == ["customer_id", "rank", "item"]
        assert top.join(owned, on=["customer_id", "item"], how="semi").height == 0, method
        assert top.group_by("customer_id").len()["len"].max() <= 3
    pop = baseline(s, "popularity", top_n=2)
    buyers = owned.group_by("item").len().sort(["len", "item"], descending=[True, False])
    first = pop.filter(pl.col("customer_id") == pop["customer_id"][0])
    mine = set(owned.filter(pl.col("customer_id") == first["customer_id"][0])["item"].to_list())
    expected = [i for i in buyers["item"].to_list() if i not in mine][:2]
    assert first["item"].to_list() == expected
    # ease: the top item is the argmax of x·B among never-bought model items
    ease = baseline(s, "ease", top_n=1)
    row = 5
    x = s.X[row].toarray().ravel()
    scores = x @ s.ease.weights
    scores[x > 0] = -np.inf
    assert (
        ease.filter(pl.col("customer_id") == s.matrix.customers[row])["item"].item()
        == (s.matrix.items[s.cols[int(np.argmax(scores))]])
    )
    with pytest.raises(ParameterError, match="method must be one of"):
        baseline(s, "magic", top_n=2)


def test_pairs_join_each_bought_candidate_to_distinct_others_of_its_customer() -> None:
    from basketlens.recommender.ranker import NEGATIVES, _pairs

    rng = np.random.default_rng(4)
    rows = np.repeat(np.arange(60), rng.integers(1, 40, 60))
    labels = rng.random(rows.size) < 0.2
    good, bad = _pairs(rows, labels, np.random.default_rng(0))
    assert (rows[good] == rows[bad]).all()
    assert labels[good].all() and not labels[bad].any()
    assert len(set(zip(good.tolist(), bad.tolist(), strict=True))) == good.size
    for r in np.unique(rows):
        mine = rows == r
        n_pos, n_neg = int(labels[mine].sum()), int((~labels[mine]).sum())
        expected = n_pos * min(NEGATIVES, n_neg)
        assert int(np.isin(good, np.flatnonzero(mine)).sum()) == expected


@pytest.mark.parametrize("with_rules", [False, True])
def test_grouped_reasons_are_each_candidates_own(planted, with_rules: bool) -> None:
    """candidate_reasons words each group of alike candidates once: every candidate gets the
    sentence written for it alone (every candidate of every customer, all evidence kinds)."""
    lines, customers, result = planted
    fitted = result.fitted
    if with_rules:
        rules = pl.DataFrame(
            {
                "rule_id": ["all-r1", "0-r1"],
                "scope": ["all", "0"],
                "antecedent": [["g0-0"], ["g0-3"]],
                "consequent": [["g0-1"], ["g0-2"]],
                "support": [0.1, 0.1],
                "confidence": [0.99, 0.9],
                "lift": [9.0, 5.0],
            }
        )
        options = RecommendOptions(top_n=3, min_buyers=2, candidates=8)
        fitted = run_recommender(lines, customers, rules=rules, options=options).fitted
    s = fitted.signals
    cands = candidate_features(s, np.arange(s.matrix.n_customers), candidates=8)
    keep = np.arange(len(cands))
    strongest = fitted._evidence(cands, keep)
    if with_rules:  # quote the rule wherever one backs the candidate
        strongest = np.where(cands.rule >= 0, EVIDENCE_NAMES.index("rule"), strongest)
    quoted = {EVIDENCE_NAMES[g] for g in strongest}
    assert quoted >= {"copurchase", "popularity", "segment_copurchase", *("rule",) * with_rules}
    items = [s.matrix.items[c] for c in cands.cols.tolist()]
    info = s.info[cands.rows]
    segments, names = info["segment"].to_list(), info["segment_name"].to_list()
    rules_table = s.rules.rules
    sizes = dict(zip(*np.unique(s.segment, return_counts=True), strict=True))
    alone = [
        explain._reason(
            s,
            explain._key(EVIDENCE_NAMES[g], k, cands, keep, segments, names),
            items[k],
            fitted.names,
            rules_table,
            sizes,
        )
        for k, g in enumerate(strongest.tolist())
    ]
    grouped = explain.candidate_reasons(
        s, fitted.names, cands, keep, strongest, items, segments, names
    )
    assert grouped == alone
