"""Render benchmark results as markdown and splice them into ``docs/benchmarks.md``.

Example::

    >>> fmt_ratio(1.234)
    '1.23×'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

BEGIN = "<!-- benchmark-results:begin (written by benchmarks/run_mining.py --write-doc) -->"
END = "<!-- benchmark-results:end -->"
SMALL_WALL_LIMIT = 2.0  # whole process: basketlens at most 2x pyfim on the small files
MEMORY_LIMIT = 2.0  # peak memory at most 2x pyfim's
MLXTEND_FACTOR = 10.0  # at least 10x faster than mlxtend
LARGE_CASE_PREFIX = "synthetic"


def fmt_s(value: float | None) -> str:
    """Seconds with a sensible number of digits."""
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_ratio(value: float | None) -> str:
    """A ratio such as ``1.23×``."""
    return "–" if value is None else f"{value:.2f}×" if value < 100 else f"{value:.0f}×"


def fmt_int(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _peak(r: dict[str, Any]) -> str:
    return f"{r['peak_mb']:.0f}" if r["status"] == "ok" else "–"


def _status_cell(r: dict[str, Any]) -> str:
    if r["status"] == "ok":
        return fmt_s(r["wall_s"])
    if r["status"] == "timeout":
        return f"timeout (> {r['wall_s']:.0f} s)"
    if r["status"] in ("skipped", "memory"):
        return r["message"] or r["status"]
    if r["status"] == "n/a":
        return "n/a (not importable)"
    return f"{r['status']} (see the results JSON)"


def results_table(results: list[dict[str, Any]]) -> str:
    """One row per (case, tool): medians of wall time, phases and peak memory, and counts."""
    head = (
        "| case | tool | whole process s | import s | load s | mine s (kernel) | rules s "
        "| write s | peak MB | itemsets | rules | agree |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in results:
        p = r["phases"]
        ok = r["status"] == "ok"
        lines.append(
            f"| {r['case']} | {r['tool']} | {_status_cell(r)} "
            + "".join(
                f"| {fmt_s(p.get(k)) if ok else '–'} "
                for k in ("import", "load", "mine", "rules", "write")
            )
            + f"| {_peak(r)} | {fmt_int(r['n_itemsets'])} "
            f"| {fmt_int(r['n_rules'])} | {r['agree'] or '–'} |"
        )
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _verdict(
    ratio: float | None, limit: float, *, at_least: bool = False, strict: bool = False
) -> str:
    if ratio is None:
        return "–"
    if at_least:
        met = ratio >= limit
    elif strict:
        met = ratio < limit
    else:
        met = ratio <= limit
    return f"{fmt_ratio(ratio)} {'met' if met else '**missed**'}"


def targets_table(results: list[dict[str, Any]]) -> str:
    """Ratios against the issue's targets, per case."""
    by = {(r["case"], r["tool"]): r for r in results}
    cases = list(dict.fromkeys(r["case"] for r in results))
    lines = [
        "| case | kernel basketlens/pyfim (≤ 1) | whole basketlens/pyfim (≤ 2 small, < 1 on 1M) "
        "| peak memory basketlens/pyfim (≤ 2) | mlxtend/basketlens whole (≥ 10) |",
        "|---|---|---|---|---|",
    ]
    for case in cases:
        bl, pf = by.get((case, "basketlens")), by.get((case, "pyfim"))
        mx = by.get((case, "mlxtend"))
        if not bl or bl["status"] != "ok":
            status = bl["status"] if bl else "not run"
            lines.append(f"| {case} | basketlens {status} | | | |")
            continue
        large = case.startswith(LARGE_CASE_PREFIX)
        if pf and pf["status"] == "ok":
            kernel = _verdict(_ratio(bl["phases"].get("mine"), pf["phases"].get("mine")), 1.0)
            whole = _verdict(
                _ratio(bl["wall_s"], pf["wall_s"]), 1.0 if large else SMALL_WALL_LIMIT, strict=large
            )
            memory = _verdict(_ratio(bl["peak_mb"], pf["peak_mb"]), MEMORY_LIMIT)
        else:
            kernel = whole = memory = "pyfim not run"
        if mx and mx["status"] == "ok":
            speedup = _verdict(_ratio(mx["wall_s"], bl["wall_s"]), MLXTEND_FACTOR, at_least=True)
        elif mx and mx["status"] in ("timeout", "memory", "skipped"):
            bound = _ratio(mx["wall_s"], bl["wall_s"]) if mx["wall_s"] else None
            speedup = f"> {fmt_ratio(bound)} (mlxtend stopped)" if bound else "mlxtend skipped"
        else:
            speedup = "–"
        lines.append(f"| {case} | {kernel} | {whole} | {memory} | {speedup} |")
    return "\n".join(lines)


def machine_lines(meta: dict[str, Any]) -> str:
    """Bullet list: date, machine, software, settings."""
    m, s = meta["machine"], meta["settings"]
    pk = m["packages"]
    thresholds = "; ".join(
        f"{n}: support {c['min_support']:g}, confidence {c['min_confidence']:g}"
        for n, c in s["cases"].items()
    )
    la0 = ", ".join(f"{x:.2f}" for x in m["load_average_start"])
    la1 = ", ".join(f"{x:.2f}" for x in m.get("load_average_end", ()))
    return "\n".join(
        [
            f"- Date (UTC): {meta['date']}",
            f"- Machine: {m['cpu']}, {m['cores']} usable cores, {m['ram_gib']} GiB RAM; {m['os']} "
            f"(kernel {m['kernel']}); load average at start {la0}, at end {la1}",
            f"- Software: Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in pk.items()),
            f"- Settings: median of {s['repeats']} fresh-process run(s) per cell, timeout "
            f"{s['timeout_s']:g} s and {s.get('max_memory_gb', '?')} GB RSS per run; {thresholds}",
        ]
    )


def render_results(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    """The complete results block (machine, table, targets) as markdown."""
    return "\n\n".join(
        [
            "### Run",
            machine_lines(meta),
            "### Results (medians; seconds and MB)",
            results_table(results),
            "### Targets (basketlens against the peers)",
            targets_table(results),
        ]
    )


def replace_doc_block(doc: Path, markdown: str) -> None:
    """Replace the text between the begin/end markers of ``doc`` (append them if absent)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n\n{markdown}\n\n{END}"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)
