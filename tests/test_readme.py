"""Every example of the README and of ``--help`` runs and gives an answer (issue 13).

The README's commands run in order, in a fresh working folder that has the shared datasets at
``../shared/data`` (as a checkout has), its ``basketlens.toml`` block written beside them; then
its Python blocks; then each command's ``Example:`` line (what ``--help`` shows), in the same
folder, which by then holds what a user of the README has (``out/``, ``erp/``, ``demo-out/``)
plus the two files the help examples name: ``groceries.csv`` and ``online_retail.parquet``.
"""

from __future__ import annotations

import gzip
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basketlens.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
runner = CliRunner()


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of ``language``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def commands(block: str) -> list[str]:
    """The ``basketlens …`` commands of a bash block (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("basketlens ")]


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def help_examples() -> dict[str, str]:
    """Command name → the ``Example:`` line of its help (the command's docstring)."""
    out = {}
    for info in app.registered_commands:
        doc = info.callback.__doc__ or ""
        found = re.search(r"Example: (basketlens .+)", doc)
        assert found, f"basketlens {info.name} --help has no example"
        out[info.name] = found.group(1).strip()
    return out


def invoke(command: str) -> str:
    args = shlex.split(command)
    assert args[0] == "basketlens"
    result = runner.invoke(app, args[1:])
    assert result.exit_code == 0, f"{command}\n{result.output}"
    assert result.output.strip(), f"{command} printed nothing"
    return result.output


# --- set up --------------------------------------------------------------------------------


def test_set_up_is_exactly_two_commands_that_match_ci() -> None:
    text = README.read_text(encoding="utf-8")
    setup = blocks(section(text, "Set up"), "bash")
    assert len(setup) == 2
    lines = [b.strip() for b in setup]
    assert all("\n" not in line for line in lines)
    assert lines[0].endswith("pip install -e . && basketlens demo --out demo-out")
    assert lines[1].endswith("pip install -q -e '.[test]' && python -m pytest -q")
    for line in lines:
        assert line.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "test" in extras["optional-dependencies"]
    assert extras["scripts"]["basketlens"] == "basketlens.cli:main"
    assert lines[1] in (ROOT / ".ci" / "run").read_text()  # CI runs the README's command


def test_every_help_example_names_a_known_command() -> None:
    names = {info.name for info in app.registered_commands}
    for name, example in help_examples().items():
        assert shlex.split(example)[1] == name
        assert name in names


# --- run them all --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, shared_path) -> Path:
    data = shared_path()  # skips when ../shared/data is absent
    root = tmp_path_factory.mktemp("readme")
    (root / "shared").symlink_to(data.parent)
    work = root / "work"
    work.mkdir()
    return work


def test_readme_and_help_examples_all_answer(
    workdir: Path, shared_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = README.read_text(encoding="utf-8")
    monkeypatch.chdir(workdir)
    tour = section(text, "A short tour")
    for block in blocks(tour, "toml"):
        name = block.splitlines()[0].lstrip("# ").strip()
        (workdir / name).write_text(block, encoding="utf-8")
    answers: dict[str, str] = {}
    for block in blocks(tour, "bash"):
        for command in commands(block):
            answers[command] = invoke(command)
    assert len(answers) >= 10
    # the summary ends with the report and what to look at first
    first_run = next(a for c, a in answers.items() if c.startswith("basketlens run ../shared"))
    assert "report.html" in first_run and "Look first at" in first_run
    basket = next(a for c, a in answers.items() if "--basket" in c)
    # two teacup colours: the answer is a cross-sell item, not the other colour of the teacup
    assert "nothing to add" not in basket and "REGENCY CAKESTAND 3 TIER" in basket
    assert (workdir / "rules.csv").read_text().startswith("rule_id,")

    for block in blocks(text, "python"):
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)  # the README's own code
        assert len(namespace) > 1

    packed = shared_path("groceries", "groceries.csv.gz").read_bytes()
    (workdir / "groceries.csv").write_bytes(gzip.decompress(packed))
    (workdir / "online_retail.parquet").symlink_to(
        shared_path("online_retail", "online_retail.parquet")
    )
    examples = help_examples()
    order = ["synth", "demo", "run", "mine", "report", "recommend", "backtest"]
    assert set(order) == set(examples)
    for name in order:
        invoke(examples[name])
