"""Every generated page in docs/ matches the code (``python -m basketlens.docgen``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from basketlens.docgen import GENERATED

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("page", sorted(GENERATED))
def test_generated_page_is_current(page: str) -> None:
    on_disk = (ROOT / page).read_text(encoding="utf-8")
    assert on_disk == GENERATED[page](), f"{page} is stale: run `python -m basketlens.docgen`"


def test_config_page_lists_every_option() -> None:
    from basketlens.config import SECTIONS

    text = GENERATED["docs/config.md"]()
    for name, cls in SECTIONS.items():
        assert f"## [{name}]" in text
        for spec in cls.specs():
            assert f"| `{spec.name}` |" in text


def test_readme_lists_the_run_folder_files() -> None:
    from basketlens.runfolder.layout import outputs_markdown

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- outputs:start -->\n")[1].split("<!-- outputs:end -->")[0]
    assert block == outputs_markdown(), "README's output table is stale"
