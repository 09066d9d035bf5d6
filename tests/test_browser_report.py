"""Open report.html in a real headless Chromium and check it renders offline without errors.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``BASKETLENS_CHROMIUM``) and the
``playwright`` Python package (its wheel bundles the driver; no browser download). Skips with a
message when either is missing. Screenshots are saved in pytest's tmp folder (path printed) or
in ``BASKETLENS_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BASKETLENS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install playwright)"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, report: Path, screenshot: Path) -> dict:
    """Load the report; collect console errors, page errors and every non-file request."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    seen: dict = {"console": [], "pageerror": [], "requests": []}
    page.on(
        "console",
        lambda m: seen["console"].append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: seen["pageerror"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda d: (seen.setdefault("dialogs", []).append(d.message), d.dismiss()))
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('div.chart[data-spec]'))"
        ".every(el => el.hasAttribute('data-rendered'))",
        timeout=60_000,
    )
    seen["charts"] = page.evaluate(
        "() => Array.from(document.querySelectorAll('div.chart[data-spec]')).map(el => "
        "({id: el.id, state: el.getAttribute('data-rendered'), "
        "drawn: !!el.querySelector('svg, canvas')}))"
    )
    seen["title"] = page.title()
    seen["text"] = page.inner_text("body")
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return seen


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BASKETLENS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("hostile", [False, True], ids=["plain", "hostile"])
def test_report_renders_offline_without_errors(
    browser, tmp_path: Path, hostile: bool, hostile_names, make_output_folder
) -> None:
    from basketlens.report import render_report

    out = make_output_folder(tmp_path / "out", hostile=hostile)
    files = render_report(out, excel=False, charts=False, bi=False)
    shot = _shots(tmp_path) / f"report-{'hostile' if hostile else 'plain'}.png"
    seen = _open(browser, files.html, shot)
    print(f"screenshot: {shot}")

    assert seen["pageerror"] == []
    assert [m for m in seen["console"]] == []
    assert [u for u in seen["requests"] if not u.startswith("file://")] == []
    assert seen["requests"] == [files.html.as_uri()]
    assert seen.get("dialogs") is None  # an injected alert() would show up here
    assert len(seen["charts"]) >= 9
    broken = [c for c in seen["charts"] if c["state"] != "true" or not c["drawn"]]
    assert broken == []
    assert shot.stat().st_size > 20_000
    if hostile:
        # the hostile names are shown as text, not interpreted
        assert hostile_names[1] in seen["text"]
        assert '=HYPERLINK("http://x","y")' in seen["text"]


def test_report_without_optional_files_says_so(browser, tmp_path: Path, make_output_folder) -> None:
    from basketlens.report import render_report

    out = make_output_folder(tmp_path / "out", mining=False)
    files = render_report(out, excel=False, charts=False, bi=False)
    seen = _open(browser, files.html, _shots(tmp_path) / "report-minimal.png")
    assert seen["pageerror"] == [] and seen["console"] == []
    assert all(c["state"] == "true" and c["drawn"] for c in seen["charts"])
    assert "rules.parquet is not in this output folder" in seen["text"]
    assert "opportunities.parquet is not in this output folder" in seen["text"]


def test_the_checks_catch_a_network_request_and_a_broken_chart(
    browser, tmp_path: Path, make_output_folder
) -> None:
    """The browser checks can fail: a remote image and an invalid chart spec are both caught."""
    from basketlens.report import render_report

    out = make_output_folder(tmp_path / "out", mining=False)
    html = render_report(out, excel=False, charts=False, bi=False).html
    text = html.read_text(encoding="utf-8")
    text = text.replace("<main>", '<main><img src="http://127.0.0.1:9/x.png" alt="">', 1)
    text = re.sub(
        r'(id="spec-k_selection">).*?(</script>)',
        r'\1{"mark": 42, "data": {}}\2',
        text,
        count=1,
        flags=re.S,
    )
    broken = tmp_path / "broken.html"
    broken.write_text(text, encoding="utf-8")
    seen = _open(browser, broken, tmp_path / "broken.png")
    problems = seen["console"] + seen["pageerror"]
    assert any("127.0.0.1" in p for p in problems) or any(
        "127.0.0.1" in u for u in seen["requests"]
    )
    states = {c["id"]: c["state"] for c in seen["charts"]}
    assert states.pop("chart-k_selection") == "error"
    assert set(states.values()) == {"true"}
    assert any("chart-k_selection failed" in p for p in problems)
