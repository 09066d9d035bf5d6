"""Chart PNGs drawn in worker processes: drawn, fingerprinted, errors named, and a fallback to
drawing in this process when no worker can start or one stops."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from basketlens.errors import ReportError
from basketlens.report import png
from basketlens.report.render import write_pngs

POINTS = {
    "data": {"values": [{"a": i, "b": i * i} for i in range(50)]},
    "mark": "point",
    "encoding": {
        "x": {"field": "a", "type": "quantitative"},
        "y": {"field": "b", "type": "quantitative"},
    },
}
BARS = {
    "data": {"values": [{"k": "x", "v": 1}, {"k": "y", "v": 3}]},
    "mark": "bar",
    "encoding": {
        "x": {"field": "k", "type": "nominal"},
        "y": {"field": "v", "type": "quantitative"},
    },
}
BROKEN = {
    "data": {"values": [{"a": 1}]},
    "mark": "point",
    "encoding": {"x": {"field": "a", "type": "?"}},
}


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_charts_are_drawn_with_their_fingerprint_and_reported_as_they_finish(
    tmp_path: Path,
) -> None:
    ticks: list[tuple[int, int]] = []
    written = write_pngs(
        {"points": POINTS, "bars": BARS, "absent": None},
        folder=tmp_path,
        progress=lambda done, total: ticks.append((done, total)),
    )
    assert [p.name for p in written] == ["points.png", "bars.png"]
    assert all(_is_png(p) for p in written)
    assert png.png_fingerprint(tmp_path / "points.png") is not None
    assert png.png_fingerprint(tmp_path / "points.png") != png.png_fingerprint(
        tmp_path / "bars.png"
    )
    assert sorted(ticks) == [(1, 2), (2, 2)]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_chart_the_renderer_refuses_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"chart 'broken' could not be drawn: ValueError"):
        write_pngs({"points": POINTS, "broken": BROKEN}, folder=tmp_path)
    assert _is_png(tmp_path / "points.png")  # the others are still drawn


def test_without_a_worker_process_charts_are_drawn_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise OSError("no processes left")

    monkeypatch.setattr(png.subprocess, "Popen", no_process)
    written = write_pngs({"points": POINTS, "bars": BARS}, folder=tmp_path)
    assert all(_is_png(p) for p in written)


def test_a_worker_that_stops_leaves_its_charts_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")  # starts, reads nothing, exits
    written = write_pngs({"points": POINTS, "bars": BARS}, folder=tmp_path)
    assert all(_is_png(p) for p in written)


def test_the_worker_answers_one_line_per_job_and_names_failures(tmp_path: Path) -> None:
    ok = png.PngJob(POINTS, {}, tmp_path / "a.png", "k1")
    bad = png.PngJob(BROKEN, {}, tmp_path / "b.png", "k2")
    done = subprocess.run(
        [sys.executable, "-m", "basketlens.report.png"],
        input=ok.to_line() + bad.to_line(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    replies = done.stdout.decode().splitlines()
    assert len(replies) == 2
    assert '"error"' not in replies[0] and "ValueError" in replies[1]
    assert png.png_fingerprint(tmp_path / "a.png") == "k1"
    assert not (tmp_path / "b.png").exists()


def test_drawing_in_a_worker_leaves_this_process_free(tmp_path: Path) -> None:
    """The point of the worker process: while it draws, this thread keeps running (vl-convert
    holds Python's lock, so drawing in a thread of this process would stall it)."""
    specs = {f"c{i}": {**POINTS, "width": 300 + i} for i in range(6)}
    done = threading.Event()
    runner = threading.Thread(
        target=lambda: (write_pngs(specs, folder=tmp_path), done.set()), daemon=True
    )
    started = time.perf_counter()
    runner.start()
    spins = 0
    while not done.is_set():
        spins += 1
    seconds = time.perf_counter() - started
    runner.join()
    # a free interpreter spins millions of times a second; a stalled one a few thousand
    assert spins / seconds > 200_000


def test_a_garbled_worker_reply_is_an_error_not_a_missing_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "garble.py"
    script.write_text("import sys\nfor line in sys.stdin:\n    print('not json', flush=True)\n")

    real_popen = subprocess.Popen

    def garbled(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return real_popen([args[0], str(script)], **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(png.subprocess, "Popen", garbled)
    with pytest.raises(ReportError, match="charts could not be drawn: JSONDecodeError"):
        write_pngs({"points": POINTS}, folder=tmp_path)


def test_workers_stop_when_the_specs_cannot_be_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_output_folder
) -> None:
    from basketlens.report import render

    out = make_output_folder(tmp_path / "out")

    def broken(bundle: object, **_: object) -> dict:
        raise RuntimeError("no specs today")

    monkeypatch.setattr(render, "build_specs", broken)
    with pytest.raises(RuntimeError, match="no specs today"):
        render.render_report(out, excel=False, bi=False)
    deadline = time.monotonic() + 30
    while any(t.name.startswith("charts-") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "chart workers left running"
        time.sleep(0.05)


def test_early_charts_are_used_as_drawn_and_the_rest_drawn_by_the_report(
    tmp_path: Path, make_output_folder
) -> None:
    from basketlens.report import render
    from basketlens.report.charts import CHARTS
    from basketlens.runfolder.read import read_run

    bundle = read_run(make_output_folder(tmp_path / "out"), model=False)
    ticks: list[tuple[int, int]] = []
    with render.start_charts(bundle, out_dir=tmp_path / "early") as drawing:
        assert drawing is not None
        assert set(drawing.specs) == {c.slug for c in CHARTS if c.early}
        files = render.render_report(
            bundle,
            drawing=drawing,
            excel=False,
            bi=False,
            progress=lambda d, t: ticks.append((d, t)),
        )
    early = tmp_path / "early" / "charts"
    drawn = {p.stem for p in files.charts}
    assert {s for s, spec in drawing.specs.items() if spec is not None} < drawn
    assert {"backtest", "backtest_calibration"} <= drawn  # later charts: drawn by the report
    assert all(p.parent == early and _is_png(p) for p in files.charts)
    assert ticks and ticks[-1] == (len(drawn), len(drawn))
    # what the report would have drawn itself: the same PNGs (same fingerprints)
    plain = render.render_report(bundle, excel=False, bi=False, html=False)
    assert {p.stem for p in plain.charts} == drawn
    for path in plain.charts:
        assert png.png_fingerprint(path) == png.png_fingerprint(early / path.name)


def test_early_charts_in_another_number_format_are_drawn_again(
    tmp_path: Path, make_output_folder
) -> None:
    from basketlens.report import render
    from basketlens.report.options import ReportOptions
    from basketlens.runfolder.read import read_run

    bundle = read_run(make_output_folder(tmp_path / "out"), model=False)
    german = ReportOptions(locale="de-DE")
    with render.start_charts(bundle, out_dir=bundle.out_dir, options=german) as drawing:
        files = render.render_report(bundle, drawing=drawing, locale="en-US", excel=False, bi=False)
    english = render.render_report(bundle, locale="en-US", excel=False, bi=False, html=False)
    assert {p.name for p in english.reused} == {p.name for p in files.charts}  # en-US drawn


def test_no_early_charts_without_pngs(tmp_path: Path, make_output_folder) -> None:
    from basketlens.report import render
    from basketlens.report.options import ReportOptions
    from basketlens.runfolder.read import read_run

    bundle = read_run(make_output_folder(tmp_path / "out"), model=False)
    assert (
        render.start_charts(bundle, out_dir=tmp_path, options=ReportOptions(charts=False)) is None
    )
